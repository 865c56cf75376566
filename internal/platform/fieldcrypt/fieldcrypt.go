// Package fieldcrypt encrypts individual database columns that hold personal
// data (CNIC, phone numbers) and computes blind indexes so such a column can
// still be unique and looked up.
//
// Ciphertexts are AES-256-GCM and carry the id of the key that made them, so
// several keys can be configured at once: the newest encrypts, every key
// decrypts, and keys rotate without rewriting the table first. Every
// ciphertext is bound to the identity of the row and column it belongs to
// (the associated data, e.g. "auth.users.cnic:"+user_id): a ciphertext copied
// into another row, or another column, fails to decrypt.
//
// Blind indexes are HMAC-SHA256 under a separate key, over a domain string
// and the normalised value: equal values give equal indexes (so a unique
// index works) while the index reveals nothing without the key.
package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of an AES-256 key and the minimum blind-index key size.
const KeySize = 32

// version is the first byte of every ciphertext, so the format can evolve.
const version byte = 1

// maxKeyIDLen bounds key ids (they are stored in every ciphertext).
const maxKeyIDLen = 32

// ErrDecrypt is returned for any ciphertext that cannot be opened: unknown
// key, tampered bytes, or associated data of another row. It says nothing
// more, on purpose.
var ErrDecrypt = errors.New("fieldcrypt: cannot decrypt")

// Key is one encryption key and its id.
type Key struct {
	ID     string
	Secret []byte
}

// Cipher encrypts and decrypts fields and computes blind indexes. It is safe
// for concurrent use.
type Cipher struct {
	current string
	aeads   map[string]cipher.AEAD
	blind   []byte
}

// New builds a Cipher. keys are newest first: keys[0] encrypts, all decrypt.
// blindKey keys the blind indexes and must be at least KeySize bytes.
func New(keys []Key, blindKey []byte) (*Cipher, error) {
	if len(keys) == 0 {
		return nil, errors.New("fieldcrypt: at least one encryption key is required")
	}
	if len(blindKey) < KeySize {
		return nil, fmt.Errorf("fieldcrypt: the blind-index key must be at least %d bytes", KeySize)
	}
	c := &Cipher{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys)), blind: append([]byte(nil), blindKey...)}
	for _, k := range keys {
		if !validKeyID(k.ID) {
			return nil, fmt.Errorf("fieldcrypt: key id %q must be 1-%d characters of [A-Za-z0-9._-]", k.ID, maxKeyIDLen)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("fieldcrypt: key %q must be %d bytes, got %d", k.ID, KeySize, len(k.Secret))
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("fieldcrypt: key id %q appears twice", k.ID)
		}
		if hmac.Equal(k.Secret, blindKey[:min(len(blindKey), KeySize)]) {
			return nil, fmt.Errorf("fieldcrypt: key %q must differ from the blind-index key", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

// CurrentKeyID is the id of the key new ciphertexts are made with.
func (c *Cipher) CurrentKeyID() string { return c.current }

// aad is the associated data actually authenticated: a format tag, the key
// id (so the id byte string cannot be swapped) and the caller's binding.
func aad(keyID, binding string) []byte {
	b := make([]byte, 0, 16+len(keyID)+len(binding))
	b = append(b, "pvara.fieldcrypt.v1"...)
	b = append(b, 0)
	b = append(b, keyID...)
	b = append(b, 0)
	b = append(b, binding...)
	return b
}

// Encrypt seals plaintext with the current key, bound to binding (the row's
// identity, e.g. "auth.users.cnic:"+id). The result is
// version(1) | len(kid)(1) | kid | nonce(12) | ciphertext+tag(16).
func (c *Cipher) Encrypt(plaintext []byte, binding string) ([]byte, error) {
	aead := c.aeads[c.current]
	out := make([]byte, 0, 2+len(c.current)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, version, byte(len(c.current)))
	out = append(out, c.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("fieldcrypt: nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad(c.current, binding)), nil
}

// Decrypt opens a ciphertext made by Encrypt with any configured key. It
// returns ErrDecrypt when the key is unknown, the bytes were altered or the
// binding differs from the one used to encrypt.
func (c *Cipher) Decrypt(ciphertext []byte, binding string) ([]byte, error) {
	if len(ciphertext) < 2 || ciphertext[0] != version {
		return nil, ErrDecrypt
	}
	n := int(ciphertext[1])
	if len(ciphertext) < 2+n {
		return nil, ErrDecrypt
	}
	kid := string(ciphertext[2 : 2+n])
	aead, ok := c.aeads[kid]
	if !ok {
		return nil, ErrDecrypt
	}
	rest := ciphertext[2+n:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrDecrypt
	}
	nonce, sealed := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, sealed, aad(kid, binding))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// KeyID returns the id of the key a ciphertext was made with (for
// re-encryption jobs that look for rows still under an old key).
func KeyID(ciphertext []byte) (string, bool) {
	if len(ciphertext) < 2 || ciphertext[0] != version || len(ciphertext) < 2+int(ciphertext[1]) {
		return "", false
	}
	return string(ciphertext[2 : 2+int(ciphertext[1])]), true
}

// EncryptString is Encrypt for strings.
func (c *Cipher) EncryptString(plaintext, binding string) ([]byte, error) {
	return c.Encrypt([]byte(plaintext), binding)
}

// DecryptString is Decrypt for strings.
func (c *Cipher) DecryptString(ciphertext []byte, binding string) (string, error) {
	b, err := c.Decrypt(ciphertext, binding)
	return string(b), err
}

// BlindIndex is HMAC-SHA256(blind key, domain || 0 || value): a deterministic,
// keyed digest for uniqueness and equality lookup. domain separates columns
// (e.g. "auth.users.cnic") so equal values in two columns do not match.
// value must be normalised by the caller first.
func (c *Cipher) BlindIndex(domain string, value []byte) []byte {
	m := hmac.New(sha256.New, c.blind)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write(value)
	return m.Sum(nil)
}

// ParseKeys reads "kid:base64,kid:base64" (newest first), the configuration
// form of encryption keys. Standard and URL base64, padded or not, are
// accepted. Errors never include key material.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		if !ok {
			return nil, errors.New(`each key must be written "kid:base64"`)
		}
		secret, err := DecodeBase64(b64)
		if err != nil {
			return nil, fmt.Errorf("key %q is not valid base64", id)
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// DecodeBase64 decodes standard or URL base64, padded or not.
func DecodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// GenerateKey returns a random key of KeySize bytes.
func GenerateKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// FormatKey writes a key in the configuration form "kid:base64".
func FormatKey(id string, secret []byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(secret)
}
