package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"

	"github.com/pitrguard/pitrguard/internal/report"
)

// Hash is the SHA-256 of the report's JSON form (WriteJSON) with
// integrity.sha256 empty.
func (r *Report) Hash() (string, error) {
	c := *r
	c.Integrity.SHA256 = ""
	var b bytes.Buffer
	if err := WriteJSON(&b, &c); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// WriteJSON writes the report's JSON form: the encoding the hash covers
// (two-space indent, no HTML escaping, a final newline).
func WriteJSON(w io.Writer, r *Report) error {
	return report.WriteJSON(w, r)
}

// hashField is the integrity.sha256 line of the JSON form. It is the last
// "sha256" key of the document (integrity is the last section); a stored
// JSON value elsewhere cannot end its line this way inside a string.
var hashField = regexp.MustCompile(`(?m)^    "sha256": "([0-9a-f]*)",?$`)

// Verify checks a report's JSON form as written: the SHA-256 of the file
// with the value of integrity.sha256 emptied must equal that value. The same
// check with standard tools:
//
//	sed -E 's/^(    "sha256": )"[0-9a-f]*"/\1""/' evidence.json | sha256sum
func Verify(data []byte) error {
	locs := hashField.FindAllSubmatchIndex(data, -1)
	if len(locs) == 0 {
		return fmt.Errorf("no integrity.sha256 in the report: not the JSON form of pitrguard report")
	}
	loc := locs[len(locs)-1]
	want := string(data[loc[2]:loc[3]])
	blank := append(bytes.Clone(data[:loc[2]]), data[loc[3]:]...)
	sum := sha256.Sum256(blank)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("the report was changed after it was written: its data hash to %s, it says %s", got, want)
	}
	return nil
}
