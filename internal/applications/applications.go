// Package applications is the applications module. It owns candidate
// profiles (this part) and, as it grows, applications, their status history,
// the duplicate guard and idempotency keys, in the PostgreSQL schema
// `applications`.
//
// A profile is what a candidate applies with: at submission the
// application copies it (Profiles.GetTx in the submission's transaction)
// after CheckComplete says it has what an application needs.
package applications
