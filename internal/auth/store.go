package auth

import (
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
)

// Column bindings of encrypted fields: the associated data ties each
// ciphertext to its row and column.
func cnicBinding(id uuid.UUID) string  { return "auth.users.cnic:" + id.String() }
func phoneBinding(id uuid.UUID) string { return "auth.users.phone:" + id.String() }

// cnicIndexDomain separates the CNIC blind index from any other.
const cnicIndexDomain = "auth.users.cnic"

// view says how much of an account the reader may see.
type view int

const (
	viewMasked view = iota // CNIC and phone masked
	viewOwner              // the account's owner: everything
	viewReveal             // a platform admin revealing the CNIC (audited by the caller)
)

// toUser converts a row (all user row types share UserGetRow's shape).
func (s *Service) toUser(r db.UserGetRow, v view) (User, error) {
	u := User{
		ID: r.ID, Email: r.Email, FullName: r.FullName, Role: r.Role, OrgID: r.OrgID,
		Disabled: r.DisabledAt != nil, CreatedAt: r.CreatedAt,
	}
	if r.CnicEnc != nil {
		cnic, err := s.cipher.DecryptString(r.CnicEnc, cnicBinding(r.ID))
		if err != nil {
			return User{}, err
		}
		masked := fieldcrypt.MaskCNIC(cnic)
		u.CNICMasked = &masked
		if v == viewOwner || v == viewReveal {
			full := fieldcrypt.FormatCNIC(cnic)
			u.CNIC = &full
		}
	}
	if r.PhoneEnc != nil {
		phone, err := s.cipher.DecryptString(r.PhoneEnc, phoneBinding(r.ID))
		if err != nil {
			return User{}, err
		}
		masked := fieldcrypt.MaskPhone(phone)
		u.PhoneMasked = &masked
		if v == viewOwner {
			u.Phone = &phone
		}
	}
	return u, nil
}

func toOrg(r db.AuthOrg) Org {
	return Org{ID: r.ID, Name: r.Name, Slug: r.Slug, CreatedAt: r.CreatedAt}
}

func toClient(r db.ClientGetRow) Client {
	return Client{
		ID: r.ID, OrgID: r.OrgID, ClientID: r.ClientID, Name: r.Name, Scopes: r.Scopes,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt,
	}
}

func ptr[T any](v T) *T { return &v }

func orgPtr(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func derefOrg(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}
