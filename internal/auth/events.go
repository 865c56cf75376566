package auth

import (
	"context"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// Event types the module publishes (topic pvara.<type>, key = user id).
// Payloads carry ids, roles and at most the e-mail's domain: never an
// e-mail address, a name, a CNIC or a phone number.
const (
	EventUserRegistered = "auth.user_registered"
	EventUserDisabled   = "auth.user_disabled"
)

// UserRegisteredV1 is the payload of auth.user_registered v1, published
// when a candidate registers or an organisation admin creates staff.
type UserRegisteredV1 struct {
	UserID      uuid.UUID  `json:"user_id"`
	Role        string     `json:"role"`
	OrgID       *uuid.UUID `json:"org_id"`
	EmailDomain string     `json:"email_domain"`
	// CreatedBy is the admin who created a staff account; null for
	// self-registration.
	CreatedBy *uuid.UUID `json:"created_by"`
}

// UserDisabledV1 is the payload of auth.user_disabled v1.
type UserDisabledV1 struct {
	UserID     uuid.UUID  `json:"user_id"`
	Role       string     `json:"role"`
	OrgID      *uuid.UUID `json:"org_id"`
	DisabledBy uuid.UUID  `json:"disabled_by"`
}

// Audit actions written by the module (platform.audit_log.action).
const (
	ActionLoginSucceeded     = "auth.login_succeeded"
	ActionLoginFailed        = "auth.login_failed"
	ActionRefreshReuse       = "auth.refresh_reuse_detected"
	ActionLogout             = "auth.logout"
	ActionUserRegistered     = "auth.user_registered"
	ActionStaffCreated       = "auth.staff_created"
	ActionPlatformAdminAdded = "auth.platform_admin_created"
	ActionUserDisabled       = "auth.user_disabled"
	ActionUserEnabled        = "auth.user_enabled"
	ActionOrgCreated         = "auth.org_created"
	ActionClientCreated      = "auth.client_created"
	ActionClientRevoked      = "auth.client_revoked"
	ActionClientAuthFailed   = "auth.client_auth_failed"
	ActionClientToken        = "auth.client_token_issued"
	ActionPIIRead            = "auth.pii_read"
)

// entry builds an audit entry for an action by actor (nil: anonymous or the
// system) with the request's client IP.
func entry(ctx context.Context, actor *authz.Principal, action, resource string, resourceID uuid.UUID, org uuid.UUID, details map[string]any) audit.Entry {
	e := audit.Entry{OrgID: org, Action: action, Resource: resource, Details: details}
	if resourceID != uuid.Nil {
		e.ResourceID = resourceID.String()
	}
	if actor != nil {
		e.ActorID = actor.UserID
		e.ActorRole = string(actor.Role)
	}
	if ip := httpx.ClientIP(ctx); ip.IsValid() {
		e.IP = ip.String()
	}
	return e
}

// Events are the event types the module publishes.
func Events() []outbox.EventType {
	user := uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000101")
	org := uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000aa")
	admin := uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000102")
	return []outbox.EventType{{
		Type: EventUserRegistered, Version: 1, Producer: "auth", Subject: "the user id",
		Description: "a candidate registered, or an organisation admin created a staff account",
		Example:     UserRegisteredV1{UserID: user, Role: string(authz.RoleRecruiter), OrgID: &org, EmailDomain: "example.gov.pk", CreatedBy: &admin},
	}, {
		Type: EventUserDisabled, Version: 1, Producer: "auth", Subject: "the user id",
		Description: "an account was disabled (its sessions are revoked)",
		Example:     UserDisabledV1{UserID: user, Role: string(authz.RoleRecruiter), OrgID: &org, DisabledBy: admin},
	}}
}
