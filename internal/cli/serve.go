package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/dashboard"
	"github.com/pitrguard/pitrguard/internal/store"
)

type serveOptions struct {
	Listen        string
	AuthTokenFile string
}

func newServeCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:     "serve",
		GroupID: "audit",
		Short:   "Serve a read-only dashboard and Prometheus metrics from the history",
		Long: `Serve answers a read-only web dashboard of the history database — the latest
audit's KPIs overall and per tier, its tables with filters and search, each
table's history, the drills and the journal — with /metrics in the Prometheus
text format and /healthz. The shards of a run group count as one audit. Every
page and scrape reads the database as it is then, so a new audit shows at once.

Nothing it answers changes anything: only GET and HEAD are served (others get
405). It binds to 127.0.0.1:8080 by default. Any address other computers can
reach (0.0.0.0, :PORT, [::], a LAN address or a host name) needs
--auth-token-file: every request must then carry "Authorization: Bearer TOKEN"
(401 otherwise), /metrics and /healthz included. Without the file such an
address is refused (exit 6). A database that does not exist yet exits 5.
Ctrl-C (or SIGTERM) stops it gracefully.`,
		Example: `  pitrguard serve
  pitrguard serve --listen 127.0.0.1:9400 --db postgres://pitrguard@db/pitrguard

  # Reachable from the network: a token is required
  openssl rand -hex 32 > /etc/pitrguard/token && chmod 600 /etc/pitrguard/token
  pitrguard serve --listen 0.0.0.0:8080 --auth-token-file /etc/pitrguard/token
  curl -H "Authorization: Bearer $(cat /etc/pitrguard/token)" http://HOST:8080/metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.NoStore {
				return FlagErrorf("serve reads the history database; drop --no-store")
			}
			addr, err := dashboard.ParseAddress(o.Listen)
			if err != nil {
				return FlagErrorf("--listen: %v", err)
			}
			return serveRun(cmd.Context(), f, g, o, addr)
		},
	}
	addStoreFlags(cmd, g)
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:"+dashboard.DefaultPort, "address to listen on, HOST:PORT; an address other than loopback needs --auth-token-file")
	cmd.Flags().StringVar(&o.AuthTokenFile, "auth-token-file", "", "file holding the bearer token every request must carry (required to listen beyond loopback)")
	return cmd
}

func serveRun(ctx context.Context, f *Factory, g *GlobalOptions, o *serveOptions, addr dashboard.Address) error {
	token := ""
	if o.AuthTokenFile != "" {
		var err error
		if token, err = readToken(o.AuthTokenFile); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		if fi, err := os.Stat(o.AuthTokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(f.IO.ErrOut, "Warning: %s can be read by other users (mode %v); chmod 600 it.\n", o.AuthTokenFile, fi.Mode().Perm())
		}
	} else if !addr.Loopback {
		return &ExitError{Code: ExitUnsafe, Err: fmt.Errorf("refusing to serve on %s without a token: other computers could read the history there. "+
			"Pass --auth-token-file FILE (a random token, e.g. `openssl rand -hex 32 > FILE`), or listen on loopback (--listen 127.0.0.1:%s)",
			addr.HostPort, dashboard.DefaultPort)}
	}
	db, err := f.openStoreForReading(ctx, g)
	if errors.Is(err, store.ErrNoDatabase) {
		target, _ := g.dbTarget()
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no history database at %s: run `pitrguard audit` first, or pass --db (or $PITRGUARD_DB) to name the database to serve", target)}
	}
	if err != nil {
		return err
	}
	defer closeStore(db)
	logger := slog.New(slog.NewTextHandler(f.IO.ErrOut, nil))
	h, err := dashboard.New(dashboard.Options{DB: db, Token: token, Now: f.Now, Logger: logger, Version: Version})
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr.HostPort)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using the port? pick another with --listen)", addr.HostPort, err)
	}
	// The address is printed even with --quiet: with --listen :0 it is the
	// only way to learn the port.
	how := "no token needed on loopback"
	if token != "" {
		how = "every request needs the bearer token"
	}
	fmt.Fprintf(f.IO.ErrOut, "Serving the history of %s on http://%s/ (metrics: /metrics; %s). Ctrl-C stops.\n", db.Path(), ln.Addr(), how)
	return dashboard.Serve(ctx, ln, h)
}

// readToken reads a bearer token file: one token (surrounding white space
// and a final newline are dropped) of at least dashboard.MinTokenLength
// characters.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	switch {
	case token == "":
		return "", fmt.Errorf("--auth-token-file %s is empty; write a random token into it, e.g. `openssl rand -hex 32 > %s`", path, path)
	case strings.ContainsAny(token, "\r\n \t"):
		return "", fmt.Errorf("--auth-token-file %s must hold one token with no spaces or line breaks", path)
	case len(token) < dashboard.MinTokenLength:
		return "", fmt.Errorf("the token in %s has %d characters; use at least %d (e.g. `openssl rand -hex 32 > %s`)", path, len(token), dashboard.MinTokenLength, path)
	}
	return token, nil
}
