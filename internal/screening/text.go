package screening

import (
	"unicode"
	"unicode/utf8"
)

// Tokenisation, shared by the corpus and the model (a corpus built with one
// tokeniser is only valid with that tokeniser: tokenizerVersion is part of
// the corpus's content and of its ID).
//
//   - Text is lower-cased (Unicode simple folding through unicode.ToLower).
//   - A token is a maximal run of Unicode letters and digits; '+' and '#'
//     directly after a one-letter token stay in it so "C++", "C#" and "F#"
//     survive as "c++", "c#" and "f#". Everything else separates tokens.
//   - Stop words of English and of romanised Urdu ("aur", "ka", "ki",
//     "mein", "hai", ...) are dropped, as are one-letter tokens other than
//     "c" and "r" (programming languages); single digits are kept.
//   - English plurals are reduced by a light rule that cannot touch
//     romanised Urdu forms: "-ies" → "-y", "-sses" → "-ss", and a final
//     "-s" is dropped when the word has more than three letters and the
//     letter before the "s" is not s, u, i or a ("skills" → "skill",
//     "engineers" → "engineer"; "status", "analysis", "class", "paas" and
//     "bas" are left alone). Urdu plurals ("-on", "-ein") and every other
//     ending are not stemmed: there is no reliable stemmer for romanised
//     Urdu, whose spelling varies, so none is attempted.
const tokenizerVersion = "tok1"

// stopWords are English function words and romanised Urdu function words
// (several spellings each). Content words are never in the list.
var stopWords, stopShape = func() (map[string]struct{}, *[maxStopLen + 1][256]bool) {
	words := []string{
		// English
		"a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
		"be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
		"did", "do", "does", "doing", "during", "each", "etc", "few", "for", "from", "further", "had", "has",
		"have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is",
		"it", "its", "itself", "just", "may", "me", "more", "most", "must", "my", "no", "nor", "not", "of",
		"off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "per", "same",
		"shall", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
		"then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
		"upon", "us", "very", "via", "was", "we", "were", "what", "when", "where", "which", "while", "who",
		"whom", "why", "will", "with", "within", "would", "you", "your", "yours",
		// Romanised Urdu (common spellings)
		"aur", "ka", "ki", "ke", "ko", "se", "mein", "mei", "mai", "hai", "hain", "hay", "tha", "thi", "thay",
		"ye", "yeh", "yah", "woh", "wo", "vo", "par", "pe", "bhi", "kya", "liye", "liay", "nahi", "nahin",
		"na", "ho", "hona", "hota", "hoti", "hotay", "kar", "karna", "karta", "karti", "kartay", "kiya",
		"ek", "jo", "jis", "tak", "sath", "saath", "apna", "apni", "apne", "hum", "ham", "mera", "meri",
		"mere", "aap", "ap", "wala", "wali", "walay", "kuch", "sab", "ya", "agar", "lekin", "magar", "phir",
		"gaya", "gayi", "raha", "rahi", "rahe", "maine", "mainay", "mujhe", "mujhay", "hamne", "usne", "unhon",
		"unhone", "unhonay", "kiye", "kiyay",
	}
	m := make(map[string]struct{}, len(words))
	shape := new([maxStopLen + 1][256]bool)
	for _, w := range words {
		m[w] = struct{}{}
		shape[len(w)][w[0]] = true
	}
	return m, shape
}()

// maxStopLen is the length of the longest stop word; stopShape[n][b] says
// whether a stop word of n bytes starts with b (a cheap test before the
// map lookup).
const maxStopLen = 7

// isStop reports whether tok is dropped.
func isStop(tok []byte) bool {
	if len(tok) <= maxStopLen && stopShape[len(tok)][tok[0]] {
		if _, ok := stopWords[string(tok)]; ok {
			return true
		}
	}
	if len(tok) == 1 {
		return tok[0] >= 'a' && tok[0] <= 'z' && tok[0] != 'c' && tok[0] != 'r'
	}
	if utf8.RuneCount(tok) == 1 {
		r, _ := utf8.DecodeRune(tok)
		return unicode.IsLetter(r)
	}
	return false
}

// stem applies the light English plural rule described above, in place.
func stem(tok []byte) []byte {
	n := len(tok)
	switch {
	case n > 4 && string(tok[n-3:]) == "ies":
		tok[n-3] = 'y'
		return tok[:n-2]
	case n > 4 && string(tok[n-4:]) == "sses":
		return tok[:n-2]
	case n > 3 && tok[n-1] == 's':
		switch tok[n-2] {
		case 's', 'u', 'i', 'a':
			return tok
		}
		if !isASCIILetters(tok) {
			return tok
		}
		return tok[:n-1]
	}
	return tok
}

func isASCIILetters(s []byte) bool {
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// tokenize calls emit with every token of s, in order. The slice is valid
// only during the call.
func tokenize(s string, emit func(tok []byte)) {
	var buf [64]byte
	b := buf[:0]
	lastLetter := false
	flush := func() {
		if len(b) > 0 {
			if !isStop(b) {
				emit(stem(b))
			}
			b = b[:0]
		}
		lastLetter = false
	}
	for i := 0; i < len(s); {
		r := rune(s[i])
		size := 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			b = append(b, byte(r))
			lastLetter = r >= 'a'
		case r < utf8.RuneSelf && r >= 'A' && r <= 'Z':
			b = append(b, byte(r+('a'-'A')))
			lastLetter = true
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)):
			b = utf8.AppendRune(b, unicode.ToLower(r))
			lastLetter = unicode.IsLetter(r)
		case (r == '+' || r == '#') && len(b) > 0 && len(b) <= 2 && (lastLetter || b[len(b)-1] == '+'):
			b = append(b, byte(r))
		default:
			flush()
		}
	}
	flush()
}

// tokens returns the tokens of s.
func tokens(s string) []string {
	out := make([]string, 0, len(s)/6)
	tokenize(s, func(t []byte) { out = append(out, string(t)) })
	return out
}
