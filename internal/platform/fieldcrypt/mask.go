package fieldcrypt

import (
	"strings"
)

// NormalizeCNIC accepts a Pakistani CNIC written "#####-#######-#" or as 13
// digits (surrounding blanks ignored) and returns its 13 digits. The first
// digit, the region code, is never 0.
func NormalizeCNIC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var digits string
	switch len(s) {
	case 13:
		digits = s
	case 15:
		if s[5] != '-' || s[13] != '-' {
			return "", false
		}
		digits = s[:5] + s[6:13] + s[14:]
	default:
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	if digits[0] == '0' {
		return "", false
	}
	return digits, true
}

// FormatCNIC writes 13 normalised digits as "#####-#######-#".
func FormatCNIC(digits string) string {
	if len(digits) != 13 {
		return digits
	}
	return digits[:5] + "-" + digits[5:12] + "-" + digits[12:]
}

// MaskCNIC shows the region block and the last digit of a CNIC and hides the
// rest: "35202-*******-1". Anything that is not a CNIC is fully masked.
func MaskCNIC(cnic string) string {
	d, ok := NormalizeCNIC(cnic)
	if !ok {
		return "*****-*******-*"
	}
	return d[:5] + "-*******-" + d[12:]
}

// MaskPhone keeps the last two digits of a phone number: "*********67".
func MaskPhone(phone string) string {
	var b strings.Builder
	n := 0
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	seen := 0
	for _, r := range phone {
		if r < '0' || r > '9' {
			continue
		}
		seen++
		if seen > n-2 {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// EmailDomain returns the domain of an e-mail address (what an event may
// carry instead of the address), or "".
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 || at == len(email)-1 {
		return ""
	}
	return strings.ToLower(email[at+1:])
}
