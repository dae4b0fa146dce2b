// Package notify sends pitrguard's alerts to the channels of the policy's
// notify: section — Slack incoming webhooks, signed JSON webhooks, SNS topics
// and email over SMTP with STARTTLS — routed by each table's owner. Messages
// are grouped so that each owner gets one message per kind, deduplicated per
// (table, kind, state), and a failing channel never hides the others.
package notify

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Kind is what a message is about. Values are part of the webhook contract.
type Kind string

// Message kinds.
const (
	PITRDisabled      Kind = "pitr_disabled"
	WindowLowered     Kind = "window_lowered"
	PITREnabled       Kind = "pitr_enabled"
	TableDeleted      Kind = "table_deleted"
	NewNonCompliant   Kind = "new_non_compliant"
	Regression        Kind = "regression"
	ExemptionExpiring Kind = "exemption_expiring"
	Fixed             Kind = "fixed"
)

// SchemaVersion of the webhook JSON.
const SchemaVersion = 1

// Message is one alert about one table. Its JSON is what a webhook receives.
type Message struct {
	SchemaVersion int            `json:"schema_version"`
	Kind          Kind           `json:"kind"`
	Account       string         `json:"account"`
	Region        string         `json:"region"`
	Table         string         `json:"table"`
	ARN           string         `json:"arn"`
	Owner         string         `json:"owner"`
	Tier          string         `json:"tier"`
	Actor         string         `json:"actor"`
	EventID       string         `json:"event_id"`
	Time          string         `json:"time"`
	Message       string         `json:"message"`
	Details       map[string]any `json:"details"`
	// State identifies the situation for deduplication (e.g. "DISABLED",
	// "7d"): the same (table, kind, state) is sent once per dedup window.
	State string `json:"-"`
}

// New returns a message with the envelope fields set.
func New(kind Kind, t time.Time) Message {
	return Message{SchemaVersion: SchemaVersion, Kind: kind, Time: t.UTC().Format(time.RFC3339), Details: map[string]any{}}
}

// DedupKey is the (table, kind, state) key of a message.
func (m Message) DedupKey() string {
	id := m.ARN
	if id == "" {
		id = m.Account + "/" + m.Region + "/" + m.Table
	}
	return id + "|" + string(m.Kind) + "|" + m.State
}

// Group is what one channel delivery carries: the messages of one owner and
// kind (one or more tables).
type Group struct {
	Owner    string
	Kind     Kind
	Messages []Message
}

// Summary is a one-line text for humans.
func (g Group) Summary() string {
	if len(g.Messages) == 1 {
		return g.Messages[0].Message
	}
	owner := g.Owner
	if owner == "" {
		owner = "no owner"
	}
	return fmt.Sprintf("%d tables (%s): %s", len(g.Messages), owner, strings.ReplaceAll(string(g.Kind), "_", " "))
}

// Sender delivers one group to one channel.
type Sender interface {
	Send(ctx context.Context, g Group) error
}

// Deduper remembers what was sent. Seen reports whether key was sent on
// channel within window; Mark records a send.
type Deduper interface {
	NotificationSent(ctx context.Context, key, channel string, since time.Time) (bool, error)
	MarkNotificationSent(ctx context.Context, key, channel string, at time.Time) error
}

// MemoryDedup is a Deduper kept in memory (used with --no-store).
type MemoryDedup struct {
	mu   sync.Mutex
	sent map[[2]string]time.Time
}

// NotificationSent implements Deduper.
func (d *MemoryDedup) NotificationSent(_ context.Context, key, channel string, since time.Time) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.sent[[2]string{key, channel}]
	return ok && !t.Before(since), nil
}

// MarkNotificationSent implements Deduper.
func (d *MemoryDedup) MarkNotificationSent(_ context.Context, key, channel string, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sent == nil {
		d.sent = map[[2]string]time.Time{}
	}
	d.sent[[2]string{key, channel}] = at
	return nil
}

// Router routes messages to channels by owner.
type Router struct {
	cfg     *config.Notify
	senders map[string]Sender
	dedup   Deduper
	now     func() time.Time
}

// NewRouter returns a router for the notify section with one Sender per
// channel name. A nil cfg routes nothing.
func NewRouter(cfg *config.Notify, senders map[string]Sender, dedup Deduper, now func() time.Time) *Router {
	if dedup == nil {
		dedup = &MemoryDedup{}
	}
	if now == nil {
		now = time.Now
	}
	return &Router{cfg: cfg, senders: senders, dedup: dedup, now: now}
}

// Delivery is the outcome of sending one group to one channel.
type Delivery struct {
	Channel string   `json:"channel"`
	Owner   string   `json:"owner"`
	Kind    Kind     `json:"kind"`
	Tables  []string `json:"tables"`
	// Result is sent, failed, deduplicated or dry_run.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Plan groups messages per (channel, owner, kind), dropping those already sent
// within the dedup window. It sends nothing.
func (r *Router) Plan(ctx context.Context, msgs []Message) ([]Delivery, map[GroupKey]Group) {
	if r.cfg == nil {
		return nil, nil
	}
	since := r.now().Add(-r.cfg.Dedup())
	type gk struct {
		channel, owner string
		kind           Kind
	}
	groups := map[gk]*Group{}
	var dropped []Delivery
	for _, m := range msgs {
		for _, ch := range r.cfg.ChannelsFor(m.Owner) {
			if seen, err := r.dedup.NotificationSent(ctx, m.DedupKey(), ch, since); err == nil && seen {
				dropped = append(dropped, Delivery{Channel: ch, Owner: m.Owner, Kind: m.Kind, Tables: []string{tableID(m)}, Result: "deduplicated"})
				continue
			}
			k := gk{ch, m.Owner, m.Kind}
			g := groups[k]
			if g == nil {
				g = &Group{Owner: m.Owner, Kind: m.Kind}
				groups[k] = g
			}
			if !slices.ContainsFunc(g.Messages, func(o Message) bool { return o.DedupKey() == m.DedupKey() }) {
				g.Messages = append(g.Messages, m)
			}
		}
	}
	out := map[GroupKey]Group{}
	var list []Delivery
	for k, g := range groups {
		sort.Slice(g.Messages, func(i, j int) bool { return tableID(g.Messages[i]) < tableID(g.Messages[j]) })
		d := Delivery{Channel: k.channel, Owner: k.owner, Kind: k.kind}
		for _, m := range g.Messages {
			d.Tables = append(d.Tables, tableID(m))
		}
		list = append(list, d)
		out[keyOf(d)] = *g
	}
	list = append(list, dropped...)
	sortDeliveries(list)
	return list, out
}

// GroupKey identifies a delivery: one channel, owner and kind.
type GroupKey struct {
	Channel, Owner string
	Kind           Kind
}

func keyOf(d Delivery) GroupKey { return GroupKey{Channel: d.Channel, Owner: d.Owner, Kind: d.Kind} }

func tableID(m Message) string {
	if m.ARN != "" {
		return m.ARN
	}
	return m.Account + "/" + m.Region + "/" + m.Table
}

func sortDeliveries(ds []Delivery) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Channel != b.Channel {
			return a.Channel < b.Channel
		}
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return strings.Join(a.Tables, ",") < strings.Join(b.Tables, ",")
	})
}

// Send delivers msgs: one delivery per (channel, owner, kind). Channels are
// sent to independently; a failure is reported in its Delivery and never
// stops the others. Successful sends are remembered for deduplication.
func (r *Router) Send(ctx context.Context, msgs []Message) []Delivery {
	list, groups := r.Plan(ctx, msgs)
	var wg sync.WaitGroup
	for i := range list {
		d := &list[i]
		if d.Result != "" { // deduplicated
			continue
		}
		g := groups[keyOf(*d)]
		s := r.senders[d.Channel]
		wg.Go(func() {
			if s == nil {
				d.Result, d.Error = "failed", "channel "+d.Channel+" has no sender (check its type and secrets)"
				return
			}
			if err := s.Send(ctx, g); err != nil {
				d.Result, d.Error = "failed", err.Error()
				return
			}
			d.Result = "sent"
			for _, m := range g.Messages {
				_ = r.dedup.MarkNotificationSent(context.WithoutCancel(ctx), m.DedupKey(), d.Channel, r.now())
			}
		})
	}
	wg.Wait()
	return list
}

// DryRun returns what Send would deliver, without sending or remembering.
func (r *Router) DryRun(ctx context.Context, msgs []Message) []Delivery {
	list, _ := r.Plan(ctx, msgs)
	for i := range list {
		if list[i].Result == "" {
			list[i].Result = "dry_run"
		}
	}
	return list
}

// SortMessages orders messages by account, region, table, kind.
func SortMessages(ms []Message) {
	slices.SortStableFunc(ms, func(a, b Message) int {
		if c := model.Compare(a.Account, a.Region, a.Table, b.Account, b.Region, b.Table); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
}
