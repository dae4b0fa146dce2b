// Package testaws runs pitrguard against real AWS wire protocols without AWS:
// it starts moto_server on 127.0.0.1, seeds organizations and tables through
// the real SDK, and puts a fault-injection proxy in front of moto for what
// moto does not model (throttling, AccessDenied, vanished tables, CREATING
// tables, sizes, 5xx, dropped connections). The demo and the benchmark use it
// too, so nothing here imports package testing except helpers named *T.
package testaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Moto is a running moto_server.
type Moto struct {
	URL string
	cmd *exec.Cmd
	log *os.File
}

// ErrNoMoto says moto_server is not installed.
var ErrNoMoto = errors.New("moto_server is not on PATH (it is preinstalled on the development and CI machines; see README.md)")

// StartMoto starts moto_server on a free loopback port and waits until it answers.
func StartMoto(ctx context.Context) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoMoto
	}
	var lastErr error
	for range 3 { // the free port may be taken between probe and bind: retry
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		logf, err := os.CreateTemp("", "moto-*.log")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("start moto_server: %w", err)
		}
		m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: logf}
		if lastErr = m.waitReady(ctx, 60*time.Second); lastErr == nil {
			return m, nil
		}
		m.Stop()
	}
	return nil, fmt.Errorf("moto_server did not become ready: %w", lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (m *Moto) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				go func() { <-exited }() // reap later
				return nil
			}
		}
		select {
		case e := <-exited:
			return fmt.Errorf("moto_server exited: %v (log: %s)", e, m.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s within %s (log: %s)", m.URL, limit, m.log.Name())
		}
	}
}

// Stop kills moto_server and its children.
func (m *Moto) Stop() {
	if m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
	m.log.Close()
	_ = os.Remove(m.log.Name())
}

// Reset wipes all of moto's state.
func (m *Moto) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Pid is moto_server's process id.
func (m *Moto) Pid() int {
	if m.cmd.Process == nil {
		return 0
	}
	return m.cmd.Process.Pid
}
