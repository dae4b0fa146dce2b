package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pitrguard/pitrguard/internal/store"
)

// Options configure the dashboard.
type Options struct {
	// DB is the history database, opened for reading.
	DB store.Store
	// Token, when set, is the bearer token every request must carry.
	Token string
	// Now is the clock (the MTTR window ends now).
	Now func() time.Time
	// Logger receives errors met while answering requests (nil: discarded).
	Logger *slog.Logger
	// Version is shown in the footer.
	Version string
}

// Timeouts of the HTTP server: a client that sends its headers slowly, or
// never reads the answer, cannot hold a connection for long.
const (
	readHeaderTimeout = 10 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	// shutdownGrace is how long requests in flight get to finish once the
	// server is asked to stop.
	shutdownGrace = 10 * time.Second
)

// New returns the dashboard's handler: the pages, /healthz and /metrics.
// Only GET and HEAD are answered (405 otherwise); with a token, every
// request must carry it (401 otherwise).
func New(o Options) (http.Handler, error) {
	if o.DB == nil {
		return nil, errors.New("dashboard: no history database")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	data := &loader{db: o.DB}
	reg := prometheus.NewRegistry()
	if err := reg.Register(&collector{data: data, now: o.Now}); err != nil {
		return nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s := &site{db: o.DB, data: data, now: o.Now, log: o.Logger, pages: pages, version: o.Version}
	mux := http.NewServeMux()
	// A pattern with GET also answers HEAD (net/http).
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /tables", s.tables)
	mux.HandleFunc("GET /tables/{account}/{region}/{name}", s.table)
	mux.HandleFunc("GET /drills", s.drills)
	mux.HandleFunc("GET /journal", s.journal)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.HTTPErrorOnError,
		ErrorLog:      slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("/", s.notFound)
	return guard(o.Token, mux), nil
}

// guard puts the checks every request passes before the routes: the bearer
// token, then the method (nothing here changes anything, so only GET and
// HEAD exist), and headers that keep the pages from being framed, sniffed
// or cached.
func guard(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if token != "" {
			got, ok := bearer(r.Header.Get("Authorization"))
			if !ok || !tokenMatches(got, token) {
				h.Set("WWW-Authenticate", `Bearer realm="pitrguard"`)
				http.Error(w, "401 unauthorized: send the token of --auth-token-file as 'Authorization: Bearer TOKEN'", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed: the dashboard is read-only (GET and HEAD only)", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer reads the token of an "Authorization: Bearer TOKEN" header (the
// scheme is case-insensitive, RFC 9110 §11.1).
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	return header[len(prefix):], true
}

// Serve answers h on ln until ctx ends, then shuts down gracefully: it stops
// accepting, and gives requests in flight up to 10 seconds to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
