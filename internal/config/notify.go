package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Notify is the policy file's notify: section: named channels, routes from a
// table's owner to channels, and the channels for everything else.
type Notify struct {
	Channels []Channel `yaml:"channels"`
	Routes   []Route   `yaml:"routes"`
	// Default receives messages for unowned tables and owners without a route.
	Default StringList `yaml:"default"`
	// DedupWindow is how long a message for the same (table, kind, state) is
	// not sent again (Go duration, default 24h).
	DedupWindow string `yaml:"dedup_window"`
}

// Channel types.
const (
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
	ChannelSNS     = "sns"
	ChannelEmail   = "email"
)

// Channel is one destination for alerts. Secret values (secret, password,
// and a Slack URL, which is itself a secret) are references —
// ${env:NAME}, ${ssm:/parameter/name} or ${secretsmanager:id} — never literals.
type Channel struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// URL of a slack incoming webhook or a webhook endpoint.
	URL string `yaml:"url"`
	// Secret signs webhook bodies with HMAC-SHA256 (header X-Pitrguard-Signature).
	Secret string `yaml:"secret"`
	// TopicARN of an sns channel.
	TopicARN string `yaml:"topic_arn"`
	// Email: recipients, sender, SMTP server host:port (STARTTLS), credentials.
	To       StringList `yaml:"to"`
	From     string     `yaml:"from"`
	SMTP     string     `yaml:"smtp"`
	Username string     `yaml:"username"`
	Password string     `yaml:"password"`

	line int
}

// Route sends the messages of tables whose owner is one of Owners to Channels.
type Route struct {
	Owners   StringList `yaml:"owners"`
	Channels StringList `yaml:"channels"`

	line int
}

// Line is where the channel starts in its file.
func (c Channel) Line() int { return c.line }

// SecretRefRE matches a secret reference: ${env:NAME}, ${ssm:/name}, ${secretsmanager:id}.
var SecretRefRE = regexp.MustCompile(`\$\{(env|ssm|secretsmanager):([^}]+)\}`)

// DefaultDedupWindow is used when dedup_window is not set.
const DefaultDedupWindow = 24 * time.Hour

// Dedup returns the deduplication window.
func (n *Notify) Dedup() time.Duration {
	if n == nil || n.DedupWindow == "" {
		return DefaultDedupWindow
	}
	d, _ := time.ParseDuration(n.DedupWindow) // validated
	return d
}

// ChannelsFor returns the channel names an owner's messages go to.
func (n *Notify) ChannelsFor(owner string) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, r := range n.Routes {
		if owner != "" && slices.ContainsFunc(r.Owners, func(o string) bool { return strings.EqualFold(o, owner) }) {
			out = append(out, r.Channels...)
		}
	}
	if len(out) == 0 {
		out = append(out, n.Default...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isRef(s string) bool { return SecretRefRE.MatchString(s) }

func (n *Notify) validate(file string) []error {
	if n == nil {
		return nil
	}
	v := &notifyErrs{file: file}
	names := map[string]bool{}
	for i, c := range n.Channels {
		switch {
		case c.Name == "":
			v.add(c.line, "channel %d has no name; add `name: <channel>`", i+1)
		case names[c.Name]:
			v.add(c.line, "channel %q is defined twice", c.Name)
		}
		names[c.Name] = true
		v.channel(c)
	}
	for _, r := range n.Routes {
		if len(r.Owners) == 0 || len(r.Channels) == 0 {
			v.add(r.line, "a route needs `owners: [...]` and `channels: [...]`")
		}
		for _, ch := range r.Channels {
			if !names[ch] {
				v.add(r.line, "route names channel %q, which is not defined under channels", ch)
			}
		}
	}
	for _, ch := range n.Default {
		if !names[ch] {
			v.add(0, "default names channel %q, which is not defined under channels", ch)
		}
	}
	if n.DedupWindow != "" {
		if d, err := time.ParseDuration(n.DedupWindow); err != nil || d < 0 {
			v.add(0, "dedup_window %q is not a duration (e.g. 24h, 30m)", n.DedupWindow)
		}
	}
	return v.errs
}

// notifyErrs collects the problems of a notify: section, in order.
type notifyErrs struct {
	file string
	errs []error
}

func (v *notifyErrs) add(line int, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Msg: "notify: " + fmt.Sprintf(format, args...)})
}

// channel checks the settings of one channel by its type.
func (v *notifyErrs) channel(c Channel) {
	switch c.Type {
	case ChannelWebhook:
		v.httpURL(c)
		v.secretRef(c, "secret", c.Secret)
	case ChannelSlack:
		v.httpURL(c)
		v.secretRef(c, "url (a Slack webhook URL is a secret)", c.URL)
	case ChannelSNS:
		if !strings.HasPrefix(c.TopicARN, "arn:") || !strings.Contains(c.TopicARN, ":sns:") {
			v.add(c.line, "channel %q (sns) needs `topic_arn: arn:aws:sns:REGION:ACCOUNT:TOPIC`", c.Name)
		}
	case ChannelEmail:
		v.email(c)
	default:
		v.add(c.line, "channel %q: type %q is not one of slack, webhook, sns, email", c.Name, c.Type)
	}
}

// secretRef reports a secret setting (key, value) written as a literal.
func (v *notifyErrs) secretRef(c Channel, key, value string) {
	if value != "" && !isRef(value) {
		v.add(c.line, "channel %q: %s must not be written in the file; use ${env:NAME}, ${ssm:/parameter/name} or ${secretsmanager:id}", c.Name, key)
	}
}

// httpURL checks the url: of a slack or webhook channel.
func (v *notifyErrs) httpURL(c Channel) {
	if c.URL == "" {
		v.add(c.line, "channel %q (%s) needs `url:`", c.Name, c.Type)
		return
	}
	if isRef(c.URL) {
		return
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(c.line, "channel %q: url %q is not an http(s) URL", c.Name, c.URL)
	}
}

// email checks an email channel: recipients, sender, SMTP server, password.
func (v *notifyErrs) email(c Channel) {
	if len(c.To) == 0 {
		v.add(c.line, "channel %q (email) needs `to: [address, ...]`", c.Name)
	}
	for _, a := range append(slices.Clone(c.To), c.From) {
		if _, err := mail.ParseAddress(a); err != nil && !isRef(a) {
			v.add(c.line, "channel %q: %q is not an email address", c.Name, a)
		}
	}
	if !strings.Contains(c.SMTP, ":") {
		v.add(c.line, "channel %q (email) needs `smtp: host:port` (STARTTLS, e.g. smtp.example.com:587)", c.Name)
	}
	v.secretRef(c, "password", c.Password)
}

// setNotifyLines records the line of each channel and route.
func setNotifyLines(c *Config, root *yaml.Node) {
	if c.Notify == nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "notify" || m.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		nm := m.Content[i+1]
		for j := 0; j+1 < len(nm.Content); j += 2 {
			key, val := nm.Content[j].Value, nm.Content[j+1]
			for k, item := range val.Content {
				switch {
				case key == "channels" && k < len(c.Notify.Channels):
					c.Notify.Channels[k].line = item.Line
				case key == "routes" && k < len(c.Notify.Routes):
					c.Notify.Routes[k].line = item.Line
				}
			}
		}
	}
}
