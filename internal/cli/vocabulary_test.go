package cli

// The flag vocabulary of docs/conventions.md, checked over every command: a
// shared idea has one name, one type, one shorthand and one help wording.

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pitrguard/pitrguard/internal/iostreams"
)

// allCommands walks the command tree (hidden commands and cobra's own
// completion/help commands excluded).
func allCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" && c.Parent() == root {
			return
		}
		out = append(out, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// visibleFlags is every flag a user sees on c (its own and inherited).
func visibleFlags(c *cobra.Command) map[string]*pflag.Flag {
	out := map[string]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			out[f.Name] = f
		}
	}
	c.LocalFlags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	return out
}

func testRoot() *cobra.Command {
	ios, _, _, _ := iostreams.Test()
	return NewRootCmd(&Factory{IO: ios})
}

// sharedWording are flags that mean exactly the same on every command that
// has them: same help text and same default.
var sharedWording = []string{"profile", "region", "endpoint-url", "max-attempts", "request-timeout", "db", "no-store",
	"quiet", "debug", "accounts", "regions", "config", "price-file"}

// typeExceptions are flags whose type legitimately differs on one command,
// with the reason.
var typeExceptions = map[string]map[string]string{
	"table": {"pitrguard restore": "a restore has exactly one source table"},
	"tier": {"pitrguard iac scan": "one tier selects which findings are shown",
		"pitrguard backup plan": "a plan backs up exactly one tier",
		"pitrguard iac fix":     "deprecated on fix, kept for old scripts"},
}

func TestFlagVocabulary(t *testing.T) {
	root := testRoot()
	type seenFlag struct{ cmd, typ, shorthand, usage, def string }
	first := map[string]seenFlag{}
	for _, c := range allCommands(root) {
		for name, f := range visibleFlags(c) {
			s := seenFlag{cmd: c.CommandPath(), typ: f.Value.Type(), shorthand: f.Shorthand, usage: f.Usage, def: f.DefValue}
			p, ok := first[name]
			if !ok {
				first[name] = s
				continue
			}
			if p.typ != s.typ && typeExceptions[name][s.cmd] == "" && typeExceptions[name][p.cmd] == "" {
				t.Errorf("--%s is a %s on %q but a %s on %q", name, p.typ, p.cmd, s.typ, s.cmd)
			}
			if p.shorthand != s.shorthand {
				t.Errorf("--%s has shorthand %q on %q but %q on %q", name, p.shorthand, p.cmd, s.shorthand, s.cmd)
			}
			if slices.Contains(sharedWording, name) && (p.usage != s.usage || p.def != s.def) {
				t.Errorf("--%s differs:\n  %s: %q (default %q)\n  %s: %q (default %q)", name, p.cmd, p.usage, p.def, s.cmd, s.usage, s.def)
			}
		}
	}
	// The shared flags exist at all (a rename would make the loop above vacuous).
	for _, name := range sharedWording {
		if _, ok := first[name]; !ok {
			t.Errorf("no command has --%s", name)
		}
	}
}

func TestFlagConventions(t *testing.T) {
	root := testRoot()
	// Commands that never call AWS or the history database.
	offline := func(path string) bool {
		for _, p := range []string{"pitrguard iac", "pitrguard iam-policy", "pitrguard version", "pitrguard merge",
			"pitrguard guardrails scp", "pitrguard guardrails rcp", "pitrguard guardrails config", "pitrguard guardrails guard",
			"pitrguard guardrails rego", "pitrguard deploy", "pitrguard backup plan"} {
			if path == p || strings.HasPrefix(path, p+" ") {
				return true
			}
		}
		return false
	}
	for _, c := range allCommands(root) {
		path := c.CommandPath()
		fl := visibleFlags(c)
		for name, f := range fl {
			switch {
			case name == "format":
				if f.Shorthand != "f" {
					t.Errorf("%s: --format has no -f", path)
				}
				if _, ok := c.GetFlagCompletionFunc("format"); !ok {
					t.Errorf("%s: --format values do not complete", path)
				}
				if strings.Contains(f.Usage, "text") {
					t.Errorf("%s: human output is called table, not text: %q", path, f.Usage)
				}
			case name == "output" && f.Shorthand != "o":
				t.Errorf("%s: --output has no -o", path)
			case slices.Contains([]string{"out", "at"}, name):
				t.Errorf("%s: --%s is a deprecated spelling and must be hidden", path, name)
			case f.Value.Type() == "duration":
				if err := c.Flags().Set(name, "2d"); err != nil && c.InheritedFlags().Lookup(name) == nil {
					t.Errorf("%s: --%s does not take a day unit: %v", path, name, err)
				}
			}
		}
		// backup plan calls no AWS but proves its plan against the history,
		// which it reads: --db only.
		readsHistory := path == "pitrguard backup plan"
		if c.Runnable() && offline(path) {
			for _, aws := range []string{"endpoint-url", "profile", "db", "no-store", "max-attempts", "request-timeout"} {
				if aws == "db" && readsHistory {
					continue
				}
				if _, ok := fl[aws]; ok {
					t.Errorf("%s calls no AWS and keeps no history, yet shows --%s", path, aws)
				}
			}
		}
		if slices.Contains([]string{"pitrguard audit", "pitrguard enable", "pitrguard restore", "pitrguard drill",
			"pitrguard drill cleanup", "pitrguard guardrails check", "pitrguard handle-event"}, path) {
			if _, ok := fl["endpoint-url"]; !ok {
				t.Errorf("%s calls AWS but has no --endpoint-url", path)
			}
		}
	}
}

func TestVersionsAgree(t *testing.T) {
	var outs []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		ios, _, out, _ := iostreams.Test()
		if code := Run(t.Context(), args, &Factory{IO: ios}); code != ExitOK {
			t.Fatalf("%v: exit %d", args, code)
		}
		outs = append(outs, out.String())
	}
	if outs[0] != outs[1] || !strings.Contains(outs[0], Version) {
		t.Errorf("version %q and --version %q differ", outs[0], outs[1])
	}
}
