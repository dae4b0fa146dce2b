package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
)

// smtpServer is a minimal SMTP server for tests: EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA, QUIT. It records what it received.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config
	startTLS bool
	mu       sync.Mutex
	auth     string
	from     string
	rcpt     []string
	data     string
	tlsUsed  bool
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func newSMTPServer(t *testing.T, startTLS bool) (*smtpServer, *x509.CertPool) {
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, startTLS: startTLS}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s, pool
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	say("220 test ESMTP")
	inTLS := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch cmd {
		case "EHLO", "HELO":
			if s.startTLS && !inTLS {
				say("250-test")
				say("250 STARTTLS")
			} else {
				say("250-test")
				say("250 AUTH PLAIN")
			}
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, inTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			s.mu.Lock()
			s.tlsUsed = true
			s.mu.Unlock()
		case "AUTH":
			parts := strings.Fields(line)
			dec, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			s.mu.Lock()
			s.auth = strings.ReplaceAll(string(dec), "\x00", "|")
			s.mu.Unlock()
			say("235 ok")
		case "MAIL":
			s.mu.Lock()
			s.from = line
			s.mu.Unlock()
			say("250 ok")
		case "RCPT":
			s.mu.Lock()
			s.rcpt = append(s.rcpt, line)
			s.mu.Unlock()
			say("250 ok")
		case "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func TestEmailSTARTTLSAuth(t *testing.T) {
	s, pool := newSMTPServer(t, true)
	cfg := &config.Notify{Channels: []config.Channel{{Name: "dba", Type: "email", To: config.StringList{"dba@example.com", "oncall@example.com"},
		From: "pitrguard@example.com", SMTP: s.ln.Addr().String(), Username: "pitrguard", Password: "${env:SMTP_PASSWORD}"}},
		Default: config.StringList{"dba"}}
	senders, errs := Build(context.Background(), cfg, Deps{Getenv: func(string) string { return "pw" }, TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	m := msg(TableDeleted, "dba", "ledger")
	m.Details["restore_command"] = "pitrguard restore --table " + m.ARN + " --deleted"
	ds := NewRouter(cfg, senders, nil, nil).Send(context.Background(), []Message{m})
	if len(ds) != 1 || ds[0].Result != "sent" {
		t.Fatalf("deliveries %+v", ds)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tlsUsed || s.auth != "|pitrguard|pw" || !strings.Contains(s.from, "<pitrguard@example.com>") || len(s.rcpt) != 2 {
		t.Errorf("tls %v auth %q from %q rcpt %v", s.tlsUsed, s.auth, s.from, s.rcpt)
	}
	if !strings.Contains(s.data, "Subject: [pitrguard] table_deleted on ledger") || !strings.Contains(s.data, "Restore: pitrguard restore --table arn:aws:dynamodb:us-east-1:111111111111:table/ledger --deleted") {
		t.Errorf("mail:\n%s", s.data)
	}
}

func TestEmailRefusesWithoutSTARTTLS(t *testing.T) {
	s, _ := newSMTPServer(t, false)
	e := &Email{Addr: s.ln.Addr().String(), From: "a@example.com", To: []string{"b@example.com"}}
	err := e.Send(context.Background(), Group{Kind: Fixed, Messages: []Message{msg(Fixed, "", "t")}})
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("err %v, want a refusal to send in clear text", err)
	}
}
