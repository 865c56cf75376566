package vocab_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/vocab"
)

func TestEducationScale(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1, vocab.Matric.Rank())
	require.Equal(t, 6, vocab.PhD.Rank())
	require.Zero(t, vocab.EducationLevel("diploma").Rank())
	require.True(t, vocab.Master.AtLeast(vocab.Bachelor))
	require.True(t, vocab.Bachelor.AtLeast(vocab.Bachelor))
	require.False(t, vocab.Intermediate.AtLeast(vocab.Bachelor))
	require.False(t, vocab.EducationLevel("x").AtLeast(vocab.Matric))
	require.False(t, vocab.PhD.AtLeast("x"))
}

func TestVocabulary(t *testing.T) {
	t.Parallel()
	require.True(t, vocab.Province("ajk").Valid())
	require.False(t, vocab.Province("Punjab").Valid(), "values are lower-case")
	require.True(t, vocab.Gender("other").Valid())
	require.Equal(t, "male, female or other", vocab.Words(vocab.Genders))
}

func TestNormalizeSkills(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ms excel", vocab.NormalizeSkill("  MS \t  Excel "))
	require.Equal(t, []string{"go", "ms excel", "urdu typing"},
		vocab.NormalizeSkills([]string{"Go", " go ", "MS  Excel", "", "ms excel", "Urdu Typing"}))
	require.NotNil(t, vocab.NormalizeSkills(nil))
}
