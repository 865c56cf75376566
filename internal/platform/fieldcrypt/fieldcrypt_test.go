package fieldcrypt_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
)

func key(t *testing.T, id string) fieldcrypt.Key {
	t.Helper()
	k, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	return fieldcrypt.Key{ID: id, Secret: k}
}

func blindKey(t *testing.T) []byte {
	t.Helper()
	k, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	return k
}

func TestRoundTripAndFormat(t *testing.T) {
	t.Parallel()
	k1 := key(t, "k2026a")
	c, err := fieldcrypt.New([]fieldcrypt.Key{k1}, blindKey(t))
	require.NoError(t, err)

	ct, err := c.EncryptString("3520212345671", "auth.users.cnic:u1")
	require.NoError(t, err)
	require.NotContains(t, string(ct), "3520212345671")
	id, ok := fieldcrypt.KeyID(ct)
	require.True(t, ok)
	require.Equal(t, "k2026a", id, "the key id is prefixed in clear")

	pt, err := c.DecryptString(ct, "auth.users.cnic:u1")
	require.NoError(t, err)
	require.Equal(t, "3520212345671", pt)

	// Two encryptions of one value differ (random nonce).
	ct2, err := c.EncryptString("3520212345671", "auth.users.cnic:u1")
	require.NoError(t, err)
	require.NotEqual(t, ct, ct2)

	// Empty plaintext is fine.
	ct3, err := c.Encrypt(nil, "x")
	require.NoError(t, err)
	pt3, err := c.Decrypt(ct3, "x")
	require.NoError(t, err)
	require.Empty(t, pt3)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	bk := blindKey(t)
	old, next := key(t, "old"), key(t, "new")
	before, err := fieldcrypt.New([]fieldcrypt.Key{old}, bk)
	require.NoError(t, err)
	ctOld, err := before.EncryptString("secret", "row:1")
	require.NoError(t, err)

	// After rotation the new key encrypts and the old one still decrypts.
	after, err := fieldcrypt.New([]fieldcrypt.Key{next, old}, bk)
	require.NoError(t, err)
	require.Equal(t, "new", after.CurrentKeyID())
	pt, err := after.DecryptString(ctOld, "row:1")
	require.NoError(t, err)
	require.Equal(t, "secret", pt)
	ctNew, err := after.EncryptString("secret", "row:1")
	require.NoError(t, err)
	id, _ := fieldcrypt.KeyID(ctNew)
	require.Equal(t, "new", id)

	// Once the old key is retired, its ciphertexts no longer open and the
	// new ones do.
	retired, err := fieldcrypt.New([]fieldcrypt.Key{next}, bk)
	require.NoError(t, err)
	_, err = retired.Decrypt(ctOld, "row:1")
	require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
	pt, err = retired.DecryptString(ctNew, "row:1")
	require.NoError(t, err)
	require.Equal(t, "secret", pt)

	// Blind indexes do not depend on the encryption keys.
	require.Equal(t, before.BlindIndex("d", []byte("v")), retired.BlindIndex("d", []byte("v")))
}

func TestAssociatedDataBindsTheRow(t *testing.T) {
	t.Parallel()
	c, err := fieldcrypt.New([]fieldcrypt.Key{key(t, "k")}, blindKey(t))
	require.NoError(t, err)
	ct, err := c.EncryptString("3520212345671", "auth.users.cnic:user-A")
	require.NoError(t, err)
	// Copied to another row, or another column of the same row: refused.
	_, err = c.Decrypt(ct, "auth.users.cnic:user-B")
	require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
	_, err = c.Decrypt(ct, "auth.users.phone:user-A")
	require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
}

func TestTamperingFails(t *testing.T) {
	t.Parallel()
	k1, k2 := key(t, "k1"), key(t, "k2")
	c, err := fieldcrypt.New([]fieldcrypt.Key{k1, k2}, blindKey(t))
	require.NoError(t, err)
	ct, err := c.EncryptString("0300-1234567", "row:1")
	require.NoError(t, err)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		_, err := c.Decrypt(bad, "row:1")
		require.ErrorIs(t, err, fieldcrypt.ErrDecrypt, "flipping byte %d must be detected", i)
	}
	// Swapping the key id for the other configured key fails too.
	swapped := bytes.Clone(ct)
	copy(swapped[2:4], "k2")
	_, err = c.Decrypt(swapped, "row:1")
	require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
	// Truncations and garbage fail cleanly, without panics.
	for n := 0; n < len(ct); n++ {
		_, err := c.Decrypt(ct[:n], "row:1")
		require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
	}
	_, err = c.Decrypt([]byte{1, 200}, "row:1")
	require.ErrorIs(t, err, fieldcrypt.ErrDecrypt)
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	bk := blindKey(t)
	c, err := fieldcrypt.New([]fieldcrypt.Key{key(t, "k")}, bk)
	require.NoError(t, err)
	a := c.BlindIndex("auth.users.cnic", []byte("3520212345671"))
	require.Len(t, a, 32)
	require.Equal(t, a, c.BlindIndex("auth.users.cnic", []byte("3520212345671")), "deterministic")
	require.NotEqual(t, a, c.BlindIndex("auth.users.cnic", []byte("3520212345672")))
	require.NotEqual(t, a, c.BlindIndex("other.domain", []byte("3520212345671")), "domains are separated")
	other, err := fieldcrypt.New([]fieldcrypt.Key{key(t, "k")}, blindKey(t))
	require.NoError(t, err)
	require.NotEqual(t, a, other.BlindIndex("auth.users.cnic", []byte("3520212345671")), "keyed")
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	bk := blindKey(t)
	_, err := fieldcrypt.New(nil, bk)
	require.Error(t, err)
	_, err = fieldcrypt.New([]fieldcrypt.Key{{ID: "k", Secret: make([]byte, 16)}}, bk)
	require.Error(t, err, "AES-128 keys are refused")
	_, err = fieldcrypt.New([]fieldcrypt.Key{key(t, "bad id")}, bk)
	require.Error(t, err)
	_, err = fieldcrypt.New([]fieldcrypt.Key{key(t, "a"), key(t, "a")}, bk)
	require.Error(t, err)
	_, err = fieldcrypt.New([]fieldcrypt.Key{key(t, "a")}, bk[:16])
	require.Error(t, err)
	_, err = fieldcrypt.New([]fieldcrypt.Key{{ID: "a", Secret: bk}}, bk)
	require.Error(t, err, "the blind key must not double as an encryption key")
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k1, k2 := key(t, "a"), key(t, "b")
	keys, err := fieldcrypt.ParseKeys(fieldcrypt.FormatKey("a", k1.Secret) + " , " + fieldcrypt.FormatKey("b", k2.Secret))
	require.NoError(t, err)
	require.Equal(t, []fieldcrypt.Key{k1, k2}, keys)
	_, err = fieldcrypt.ParseKeys("nocolon")
	require.Error(t, err)
	_, err = fieldcrypt.ParseKeys("a:!!!")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "!!!", "errors never echo key material")
	_, err = fieldcrypt.ParseKeys(" , ")
	require.Error(t, err)
}

func TestCNICHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"35202-1234567-1", "3520212345671", true},
		{"3520212345671", "3520212345671", true},
		{" 35202-1234567-1 ", "3520212345671", true},
		{"35202-1234567-", "", false},
		{"35202 1234567 1", "", false},
		{"3520-21234567-1", "", false},
		{"352021234567", "", false},
		{"35202123456712", "", false},
		{"0520212345671", "", false},
		{"3520a12345671", "", false},
		{"", "", false},
	} {
		got, ok := fieldcrypt.NormalizeCNIC(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	require.Equal(t, "35202-1234567-1", fieldcrypt.FormatCNIC("3520212345671"))
	require.Equal(t, "35202-*******-1", fieldcrypt.MaskCNIC("3520212345671"))
	require.Equal(t, "35202-*******-1", fieldcrypt.MaskCNIC("35202-1234567-1"))
	require.Equal(t, "*****-*******-*", fieldcrypt.MaskCNIC("garbage"))
	require.Equal(t, "*********67", fieldcrypt.MaskPhone("0300-1234567"))
	require.Equal(t, "example.gov.pk", fieldcrypt.EmailDomain("a.b@Example.gov.pk"))
	require.Equal(t, "", fieldcrypt.EmailDomain("nobody"))
}
