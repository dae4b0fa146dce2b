// Package config reads the pitrguard policy file (pitrguard.yaml) into a typed
// Config, fills in the built-in defaults and validates it. Every error names
// the file and the line, so a user can fix it without guessing.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/glob"
	"github.com/pitrguard/pitrguard/internal/model"
)

// DefaultFile is the policy file read from the working directory when
// --config is not given.
const DefaultFile = "pitrguard.yaml"

// MaxRecoveryDays and MinRecoveryDays bound RecoveryPeriodInDays (DynamoDB API model).
const (
	MinRecoveryDays = 1
	MaxRecoveryDays = 35
)

// Config is the policy: tiers, owner tags and exemptions.
type Config struct {
	Tiers       []Tier      `yaml:"tiers"`
	DefaultTier string      `yaml:"default_tier"`
	OwnerTags   []string    `yaml:"owner_tags"`
	Exemptions  []Exemption `yaml:"exemptions"`
	// Notify routes alerts to channels (notify.go); nil without a notify: section.
	Notify *Notify `yaml:"notify"`

	// Source is the file the config came from ("built-in defaults" without one).
	Source string `yaml:"-"`
}

// Tier groups tables that share a protection requirement. The first tier whose
// Match matches a table wins.
type Tier struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// RequirePITR defaults to true.
	RequirePITR *bool `yaml:"require_pitr"`
	// MinRecoveryDays is the minimum RecoveryPeriodInDays; 0 means any period.
	MinRecoveryDays int `yaml:"min_recovery_days"`
	// Critical marks tiers counted in snapshot_gap_tables; defaults to true for
	// a tier named "critical".
	Critical *bool `yaml:"critical"`
	// Description is free text shown in reports.
	Description string `yaml:"description"`
	// Backup asks for AWS Backup coverage beyond PITR's 35 days (nil: none).
	Backup *BackupPolicy `yaml:"backup"`

	line int
	node *yaml.Node // the tier's mapping in the file, for key lines in errors
}

// Match selects tables. Within one kind (tags, names, accounts, regions) any
// entry may match; all kinds that are given must match. An empty Match
// matches every table.
type Match struct {
	// Tags maps a tag key (matched case-insensitively) to accepted values
	// (globs, case-insensitive). A table matches when any listed key carries
	// one of its values.
	Tags map[string]StringList `yaml:"tags"`
	// Names are globs matched against the table name or ARN.
	Names []string `yaml:"names"`
	// Accounts are 12-digit account ids.
	Accounts []string `yaml:"accounts"`
	// Regions are region names or globs.
	Regions []string `yaml:"regions"`
}

// Exemption excuses matching tables from the policy until it expires.
type Exemption struct {
	// Table is a glob matched against the table ARN or name.
	Table   string `yaml:"table"`
	Reason  string `yaml:"reason"`
	Owner   string `yaml:"owner"`
	Expires *Date  `yaml:"expires"`

	line int
	node *yaml.Node
}

// RequiresPITR reports whether tables in the tier must have PITR enabled.
func (t Tier) RequiresPITR() bool { return t.RequirePITR == nil || *t.RequirePITR }

// IsCritical reports whether the tier counts toward snapshot_gap_tables.
func (t Tier) IsCritical() bool {
	if t.Critical != nil {
		return *t.Critical
	}
	return strings.EqualFold(t.Name, "critical")
}

// StringList accepts a single string or a list of strings.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a string, got a %s", c.Line, kindName(c.Kind))
			}
			out = append(out, c.Value)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: expected a string or a list of strings, got a %s", n.Line, kindName(n.Kind))
}

// Date is a calendar day (YYYY-MM-DD) in UTC.
type Date struct{ time.Time }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: %q is not a date; write it as YYYY-MM-DD, e.g. 2027-03-31", n.Line, n.Value)
	}
	d.Time = t
	return nil
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(time.DateOnly) }

// Expired reports whether the day has passed at now: an exemption that
// expires on 2027-03-31 still applies for the whole of that day (UTC).
func (d *Date) Expired(now time.Time) bool {
	return d != nil && !now.UTC().Before(d.AddDate(0, 0, 1))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// Default returns the built-in policy: tables tagged env, environment or stage
// = prod, production or prd (any case) are critical (PITR with 35 days); all
// others are standard (PITR required, any period).
func Default() *Config {
	prod := StringList{"prod", "production", "prd"}
	return &Config{
		Tiers: []Tier{{
			Name:            "critical",
			Match:           Match{Tags: map[string]StringList{"env": prod, "environment": prod, "stage": prod}},
			MinRecoveryDays: MaxRecoveryDays,
		}},
		DefaultTier: "standard",
		OwnerTags:   []string{"owner", "team"},
		Source:      "built-in defaults",
	}
}

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads the policy from path. With path "" it reads ./pitrguard.yaml if
// it exists and otherwise returns Default().
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return Default(), nil
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read policy file: %v", errors.Unwrap(err))}
	}
	return Parse(path, data)
}

// Parse decodes and validates a policy file's contents.
func Parse(name string, data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "the policy file is empty; delete it to use the built-in defaults, or see README.md for the format"}
		}
		return nil, yamlError(name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // already decoded once: cannot fail
	cfg.Source = name
	setLines(&cfg, &root)
	setNotifyLines(&cfg, &root)
	if err := cfg.validate(name); err != nil {
		return nil, err
	}
	if cfg.DefaultTier == "" {
		cfg.DefaultTier = "standard"
	}
	if cfg.OwnerTags == nil {
		cfg.OwnerTags = []string{"owner", "team"}
	}
	return &cfg, nil
}

// yamlError turns yaml.v3's messages ("yaml: line 3: field foo not found in
// type config.Tier") into file:line errors that say what to do.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	if i := strings.Index(msg, "field "); i >= 0 && strings.Contains(msg, " not found in type ") {
		field := strings.Fields(msg[i+len("field "):])[0]
		msg = fmt.Sprintf("unknown key %q (check the spelling; allowed keys are listed in README.md, section \"Policy file\")", field)
	}
	if strings.Contains(msg, "cannot unmarshal") {
		msg += " (check the value's type against README.md, section \"Policy file\")"
	}
	return &Error{File: name, Line: line, Msg: msg}
}

func (c *Config) validate(file string) error {
	var errs []error
	add := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i, t := range c.Tiers {
		switch {
		case t.Name == "":
			add(t.line, "tier %d has no name; add `name: <tier>`", i+1)
		case seen[strings.ToLower(t.Name)]:
			add(keyLine(t.node, t.line, "name"), "tier %q is defined twice; tier names must be unique", t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
		t.validate(add)
	}
	for i, e := range c.Exemptions {
		switch {
		case e.Table == "":
			add(e.line, "exemption %d has no `table:` pattern", i+1)
		default:
			if err := glob.Validate(e.Table); err != nil {
				add(keyLine(e.node, e.line, "table"), "exemption %d: bad table pattern %q: %v", i+1, e.Table, err)
			}
		}
		if strings.TrimSpace(e.Reason) == "" {
			add(e.line, "exemption %d (%s) has no reason; every exemption must say why, e.g. `reason: rebuilt nightly from S3`", i+1, e.Table)
		}
	}
	errs = append(errs, c.Notify.validate(file)...)
	return errors.Join(errs...)
}

// validate checks one tier; each error points at the offending key's line.
func (t Tier) validate(add func(line int, format string, args ...any)) {
	line := func(keys ...string) int { return keyLine(t.node, t.line, keys...) }
	// A min_recovery_days that is written must be a valid period: 0 is not
	// "any period" (leave the key out for that), it is out of range.
	if daysSet := keyLine(t.node, -1, "min_recovery_days") != -1 || t.MinRecoveryDays != 0; daysSet &&
		(t.MinRecoveryDays < MinRecoveryDays || t.MinRecoveryDays > MaxRecoveryDays) {
		add(line("min_recovery_days"), "tier %q: min_recovery_days is %d; DynamoDB allows a recovery period of %d to %d days (leave the key out for any period)", t.Name, t.MinRecoveryDays, MinRecoveryDays, MaxRecoveryDays)
	}
	if !t.RequiresPITR() && t.MinRecoveryDays != 0 {
		add(line("min_recovery_days"), "tier %q sets min_recovery_days but require_pitr is false; remove one of them", t.Name)
	}
	for _, n := range t.Match.Names {
		if err := glob.Validate(n); err != nil {
			add(line("match", "names"), "tier %q: bad name pattern %q: %v", t.Name, n, err)
		}
	}
	for _, r := range t.Match.Regions {
		if err := glob.Validate(r); err != nil {
			add(line("match", "regions"), "tier %q: bad region pattern %q: %v", t.Name, r, err)
		}
	}
	for _, a := range t.Match.Accounts {
		if !IsAccountID(a) {
			add(line("match", "accounts"), "tier %q: %q is not a 12-digit AWS account id", t.Name, a)
		}
	}
	for _, k := range sortedKeys(t.Match.Tags) {
		if k == "" {
			add(line("match", "tags"), "tier %q: empty tag key in match.tags", t.Name)
		}
		for _, v := range t.Match.Tags[k] {
			if err := glob.Validate(v); err != nil {
				add(line("match", "tags", k), "tier %q: bad tag value pattern %q: %v", t.Name, v, err)
			}
		}
	}
	if t.Backup == nil && keyLine(t.node, -1, "backup") != -1 {
		add(line("backup"), "tier %q: backup is empty, which asks for no AWS Backup at all; write backup: {} for the block's defaults (required, max_age_hours %d), or remove the key", t.Name, DefaultBackupMaxAgeHours)
	}
	t.Backup.validate(t.Name, func(key string) (int, bool) {
		if l := keyLine(t.node, -1, "backup", key); l > 0 {
			return l, true
		}
		return line("backup"), false
	}, add)
}

func sortedKeys(m map[string]StringList) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keyLine returns the line of the key at path inside the mapping n (e.g.
// "match", "names"), or fallback when n is nil or a key is absent.
func keyLine(n *yaml.Node, fallback int, path ...string) int {
	line := fallback
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return fallback
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return fallback
		}
		n = next
	}
	return line
}

// IsAccountID reports whether s is a 12-digit account id.
func IsAccountID(s string) bool { return model.IsAccountID(s) }

// setLines records the line of each tier and exemption from the node tree, so
// that semantic errors can point at them.
func setLines(c *Config, root *yaml.Node) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i].Value, m.Content[i+1]
		if val.Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range val.Content {
			switch {
			case key == "tiers" && j < len(c.Tiers):
				c.Tiers[j].line, c.Tiers[j].node = item.Line, item
			case key == "exemptions" && j < len(c.Exemptions):
				c.Exemptions[j].line, c.Exemptions[j].node = item.Line, item
			}
		}
	}
}

// Line is where the tier starts in its file (0 for built-in tiers).
func (t Tier) Line() int { return t.line }

// Line is where the exemption starts in its file.
func (e Exemption) Line() int { return e.line }
