package testaws

import (
	"context"
	"os"
	"testing"
)

// MotoT starts moto_server for a test and stops it when the test ends. Without
// moto_server the test is skipped — unless PITRGUARD_REQUIRE_MOTO=1 (set by
// .ci/run), where it fails, so the suite can never pass by skipping.
func MotoT(t testing.TB) *Moto {
	t.Helper()
	m, err := StartMoto(context.Background())
	if err == ErrNoMoto {
		if os.Getenv("PITRGUARD_REQUIRE_MOTO") == "1" {
			t.Fatalf("%v; PITRGUARD_REQUIRE_MOTO=1 forbids skipping", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// ProxyT starts a fault-injection proxy in front of target for a test.
func ProxyT(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
