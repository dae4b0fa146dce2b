package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/pitrguard/pitrguard/internal/config"
)

// SignatureHeader carries a webhook body's HMAC-SHA256 ("sha256=<hex>").
const SignatureHeader = "X-Pitrguard-Signature"

// Sign returns the signature header value of body with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SSMGetter reads an SSM parameter.
type SSMGetter interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretGetter reads a Secrets Manager secret.
type SecretGetter interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SNSPublisher publishes to an SNS topic.
type SNSPublisher interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Deps are what building the channels needs.
type Deps struct {
	Getenv func(string) string
	SSM    SSMGetter
	// Secrets reads ${secretsmanager:id} references.
	Secrets SecretGetter
	// SNS returns a publisher for a topic's region.
	SNS func(region string) SNSPublisher
	// HTTP is the client for slack and webhook channels (default: 10s timeout).
	HTTP *http.Client
	// TLS configures STARTTLS for email (default: system roots, the host's name).
	TLS *tls.Config
	// Sleep waits between attempts (tests make it instant).
	Sleep func(context.Context, time.Duration) error
	// MaxAttempts per HTTP delivery (default 4).
	MaxAttempts int
}

// Resolve expands ${env:NAME}, ${ssm:/name} and ${secretsmanager:id} in s.
func Resolve(ctx context.Context, s string, d Deps) (string, error) {
	var firstErr error
	out := config.SecretRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		m := config.SecretRefRE.FindStringSubmatch(ref)
		kind, name := m[1], m[2]
		var v string
		var err error
		switch kind {
		case "env":
			if d.Getenv != nil {
				v = d.Getenv(name)
			}
			if v == "" {
				err = fmt.Errorf("environment variable %s is not set (referenced as %s)", name, ref)
			}
		case "ssm":
			if d.SSM == nil {
				err = fmt.Errorf("%s: no SSM client", ref)
				break
			}
			var o *ssm.GetParameterOutput
			if o, err = d.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)}); err == nil && o.Parameter != nil {
				v = aws.ToString(o.Parameter.Value)
			} else if err != nil {
				err = fmt.Errorf("read SSM parameter %s: %w", name, err)
			}
		case "secretsmanager":
			if d.Secrets == nil {
				err = fmt.Errorf("%s: no Secrets Manager client", ref)
				break
			}
			var o *secretsmanager.GetSecretValueOutput
			if o, err = d.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}); err == nil {
				v = aws.ToString(o.SecretString)
			} else {
				err = fmt.Errorf("read secret %s: %w", name, err)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// Build returns one Sender per channel. A channel whose secrets cannot be
// resolved is left out and reported; the others still work.
func Build(ctx context.Context, cfg *config.Notify, d Deps) (map[string]Sender, []error) {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 4
	}
	out := map[string]Sender{}
	if cfg == nil {
		return out, nil
	}
	var errs []error
	for _, c := range cfg.Channels {
		res := func(s string) string {
			v, err := Resolve(ctx, s, d)
			if err != nil {
				errs = append(errs, fmt.Errorf("notify channel %s: %w", c.Name, err))
			}
			return v
		}
		n := len(errs)
		var s Sender
		switch c.Type {
		case config.ChannelWebhook:
			s = &Webhook{URL: res(c.URL), Secret: res(c.Secret), d: d}
		case config.ChannelSlack:
			s = &Slack{URL: res(c.URL), d: d}
		case config.ChannelSNS:
			region := ""
			if parts := strings.Split(c.TopicARN, ":"); len(parts) > 3 {
				region = parts[3]
			}
			if d.SNS == nil {
				errs = append(errs, fmt.Errorf("notify channel %s: no SNS client", c.Name))
				continue
			}
			s = &SNS{TopicARN: c.TopicARN, c: d.SNS(region)}
		case config.ChannelEmail:
			s = &Email{Addr: c.SMTP, From: c.From, To: c.To, Username: res(c.Username), Password: res(c.Password), d: d}
		}
		if len(errs) == n && s != nil {
			out[c.Name] = s
		}
	}
	return out, errs
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// payload is the JSON of a group: the message itself for one table, or an
// envelope listing the tables' messages under details.tables.
func payload(g Group) Message {
	if len(g.Messages) == 1 {
		return g.Messages[0]
	}
	m := g.Messages[0]
	env := Message{SchemaVersion: SchemaVersion, Kind: g.Kind, Owner: g.Owner, Tier: "", Actor: "", EventID: "",
		Time: m.Time, Message: g.Summary(), Details: map[string]any{"tables": g.Messages}}
	return env
}

// maxRetryAfter caps how long a Retry-After is honoured.
const maxRetryAfter = 2 * time.Minute

// post sends body with retries: 429 waits for Retry-After (seconds or an
// HTTP date), 5xx and network errors back off 1s, 2s, 4s.
func post(ctx context.Context, d Deps, url string, body []byte, header http.Header) error {
	var last error
	for attempt := 1; attempt <= d.MaxAttempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "pitrguard")
		resp, err := d.HTTP.Do(req)
		wait := time.Second << (attempt - 1)
		switch {
		case err != nil:
			last = fmt.Errorf("POST %s: %w", redact(url), err)
		default:
			rb, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				return nil
			case resp.StatusCode == http.StatusTooManyRequests:
				wait = retryAfter(resp.Header.Get("Retry-After"), wait)
				last = fmt.Errorf("POST %s: 429 Too Many Requests after %d attempt(s)", redact(url), attempt)
			case resp.StatusCode >= 500:
				last = fmt.Errorf("POST %s: %s: %s", redact(url), resp.Status, strings.TrimSpace(string(rb)))
			default:
				return fmt.Errorf("POST %s: %s: %s (check the channel's URL and credentials)", redact(url), resp.Status, strings.TrimSpace(string(rb)))
			}
		}
		if attempt == d.MaxAttempts {
			break
		}
		if err := d.Sleep(ctx, wait); err != nil {
			return errors.Join(last, err)
		}
	}
	return last
}

func retryAfter(v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return def
}

// redact keeps a URL's scheme and host: webhook paths carry secrets.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "/"); j >= 0 {
			return u[:i+3+j] + "/…"
		}
	}
	return u
}

// Webhook POSTs the message JSON, signed when a secret is set.
type Webhook struct {
	URL, Secret string
	d           Deps
}

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, g Group) error {
	body, err := json.Marshal(payload(g))
	if err != nil {
		return err
	}
	h := http.Header{}
	if w.Secret != "" {
		h.Set(SignatureHeader, Sign(w.Secret, body))
	}
	return post(ctx, w.d, w.URL, body, h)
}

// Slack posts to an incoming webhook.
type Slack struct {
	URL string
	d   Deps
}

// Send implements Sender.
func (s *Slack) Send(ctx context.Context, g Group) error {
	body, err := json.Marshal(map[string]string{"text": text(g)})
	if err != nil {
		return err
	}
	return post(ctx, s.d, s.URL, body, http.Header{})
}

// text renders a group for humans (Slack, email).
func text(g Group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pitrguard: %s\n", g.Summary())
	if len(g.Messages) > 1 {
		for _, m := range g.Messages {
			fmt.Fprintf(&b, "• %s\n", m.Message)
		}
	}
	for _, m := range g.Messages {
		if cmd, ok := m.Details["restore_command"].(string); ok {
			fmt.Fprintf(&b, "Restore: %s\n", cmd)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// SNS publishes the message JSON to a topic.
type SNS struct {
	TopicARN string
	c        SNSPublisher
}

// Send implements Sender.
func (s *SNS) Send(ctx context.Context, g Group) error {
	body, err := json.Marshal(payload(g))
	if err != nil {
		return err
	}
	subject := "pitrguard: " + g.Summary()
	if len(subject) > 100 { // SNS limit
		subject = subject[:99] + "…"
		for len(subject) > 100 {
			subject = subject[:len(subject)-4] + "…"
		}
	}
	_, err = s.c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicARN), Subject: aws.String(asciiSubject(subject)), Message: aws.String(string(body)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"kind":  {DataType: aws.String("String"), StringValue: aws.String(string(g.Kind))},
			"owner": {DataType: aws.String("String"), StringValue: aws.String(ownerOrNone(g.Owner))},
		}})
	if err != nil {
		return fmt.Errorf("sns:Publish to %s: %w", s.TopicARN, err)
	}
	return nil
}

func ownerOrNone(o string) string {
	if o == "" {
		return "none"
	}
	return o
}

// asciiSubject keeps an SNS subject to printable ASCII (its documented charset).
func asciiSubject(s string) string {
	b := []byte{}
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b = append(b, byte(r))
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// Email sends over SMTP, refusing servers that do not offer STARTTLS.
type Email struct {
	Addr               string
	From               string
	To                 []string
	Username, Password string
	d                  Deps
}

// Send implements Sender.
func (e *Email) Send(ctx context.Context, g Group) error {
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", e.Addr, err)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	defer c.Close()
	if err := c.Hello("pitrguard"); err != nil {
		return fmt.Errorf("smtp %s: EHLO: %w", e.Addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return fmt.Errorf("smtp %s does not offer STARTTLS; pitrguard does not send mail in clear text", e.Addr)
	}
	tc := e.d.TLS
	if tc == nil {
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if err := c.StartTLS(tc); err != nil {
		return fmt.Errorf("smtp %s: STARTTLS: %w", e.Addr, err)
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: AUTH: %w (check the channel's username/password)", e.Addr, err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", e.Addr, err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp %s: RCPT TO %s: %w", e.Addr, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", e.Addr, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: [pitrguard] %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		e.From, strings.Join(e.To, ", "), asciiSubject(g.Summary()))
	b.WriteString(strings.ReplaceAll(text(g), "\n", "\r\n"))
	b.WriteString("\r\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	return c.Quit()
}
