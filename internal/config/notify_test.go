package config

import (
	"strings"
	"testing"
)

func TestNotifySection(t *testing.T) {
	good := `notify:
  channels:
    - {name: secops, type: webhook, url: "https://hooks.example.com/pitr", secret: "${env:HOOK_SECRET}"}
    - {name: payments, type: slack, url: "${env:PAYMENTS_SLACK_URL}"}
    - {name: finops, type: sns, topic_arn: "arn:aws:sns:us-east-1:111111111111:pitr"}
    - {name: dba, type: email, to: [dba@example.com], from: pitrguard@example.com, smtp: "smtp.example.com:587", password: "${ssm:/pitrguard/smtp}"}
  routes:
    - {owners: [payments], channels: [payments]}
  default: [secops]
`
	cfg, err := Parse("p.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Notify.ChannelsFor("Payments"); len(got) != 1 || got[0] != "payments" {
		t.Errorf("payments routes to %v", got)
	}
	if got := cfg.Notify.ChannelsFor(""); len(got) != 1 || got[0] != "secops" {
		t.Errorf("unowned routes to %v", got)
	}
	if cfg.Notify.Channels[3].Line() != 6 {
		t.Errorf("channel line %d, want 6", cfg.Notify.Channels[3].Line())
	}
	for name, tc := range map[string]struct{ yaml, want string }{
		"literal secret":    {"notify:\n  channels:\n    - {name: a, type: webhook, url: \"https://x.example\", secret: hunter2}\n", "p.yaml:3: notify: channel \"a\": secret must not be written in the file"},
		"literal slack":     {"notify:\n  channels:\n    - {name: a, type: slack, url: \"https://hooks.slack.com/services/T/B/x\"}\n", "a Slack webhook URL is a secret"},
		"unknown type":      {"notify:\n  channels:\n    - {name: a, type: pager}\n", `type "pager" is not one of`},
		"undefined route":   {"notify:\n  channels:\n    - {name: a, type: sns, topic_arn: \"arn:aws:sns:us-east-1:1:t\"}\n  routes:\n    - {owners: [x], channels: [b]}\n", `route names channel "b"`},
		"undefined default": {"notify:\n  channels: []\n  default: [zz]\n", `default names channel "zz"`},
		"unknown key":       {"notify:\n  channel: []\n", `unknown key "channel"`},
		"bad email":         {"notify:\n  channels:\n    - {name: a, type: email, to: [nobody], from: a@example.com, smtp: \"h:587\"}\n", `"nobody" is not an email address`},
		"bad window":        {"notify:\n  channels: []\n  dedup_window: soon\n", `dedup_window "soon"`},
	} {
		_, err := Parse("p.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
