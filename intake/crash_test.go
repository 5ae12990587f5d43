package intake_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestCrash kills the intake server (SIGKILL) while callbacks stream in,
// restarts it, and checks that every acknowledged callback is stored with
// all its entries and that no callback is half-written.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs a child process")
	}
	bin := filepath.Join(t.TempDir(), "crashserver")
	build := exec.Command("go", "build", "-o", bin, "./internal/crashserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build crashserver: %v\n%s", err, out)
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			driver, dsn := storetest.DSN(t, dialect)
			crashOnce(t, bin, driver, dsn)
		})
	}
}

const entriesPerCallback = 3

func crashOnce(t *testing.T, bin, driver, dsn string) {
	srv := startServer(t, bin, driver, dsn)

	var (
		acked   sync.Map // event → body+sig
		nAcked  atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		client  = &http.Client{Timeout: 5 * time.Second}
		workers = 8
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				event := fmt.Sprintf("crash-%d-%d", w, i)
				body, sig := testverifier.Callback(key, event, entriesPerCallback, "3.21")
				req, _ := http.NewRequest(http.MethodPost, srv.url+"/callbacks/wechat/shop", strings.NewReader(string(body)))
				req.Header.Set(testverifier.Header, sig)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					acked.Store(event, [2]string{string(body), sig})
					nAcked.Add(1)
				}
			}
		}(w)
	}
	deadline := time.Now().Add(20 * time.Second)
	for nAcked.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	stop.Store(true)
	wg.Wait()
	if nAcked.Load() == 0 {
		t.Fatal("no callback was acknowledged before the kill")
	}
	t.Logf("%d callbacks acknowledged before SIGKILL", nAcked.Load())

	// Restart on the same database: it recovers and still dedupes.
	srv = startServer(t, bin, driver, dsn)
	n := 0
	acked.Range(func(k, v any) bool {
		bs := v.([2]string)
		got := post(t, srv.url+"/callbacks/wechat/shop", []byte(bs[0]), bs[1])
		if got.status != http.StatusOK {
			t.Errorf("replay of %s after restart: %d %s", k, got.status, got.body)
		}
		n++
		return n < 20
	})
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	_ = srv.cmd.Wait()

	db, err := store.Open(context.Background(), driver, dsn, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	perEvent := map[string]int{}
	cbOf := map[int64]string{}
	storetest.Must(t, db.Callbacks(ctx, "shop", func(cb payrecon.RawCallback) error {
		if !cb.Accepted {
			t.Errorf("callback %d rejected: %s", cb.ID, cb.Reason)
		}
		perEvent[cb.EventID]++
		cbOf[cb.ID] = cb.EventID
		return nil
	}))
	perCallback := map[int64]int{}
	for _, e := range entries(t, db, "shop") {
		if _, ok := cbOf[e.CallbackID]; !ok {
			t.Errorf("entry %s has no stored callback (%d)", e.EventKey, e.CallbackID)
		}
		if !strings.HasPrefix(e.EventKey, cbOf[e.CallbackID]+":") {
			t.Errorf("entry %s attached to callback of %s", e.EventKey, cbOf[e.CallbackID])
		}
		perCallback[e.CallbackID]++
	}
	for id, ev := range cbOf {
		if perCallback[id] != entriesPerCallback {
			t.Errorf("callback %d (%s) has %d entries, want %d: half-written", id, ev, perCallback[id], entriesPerCallback)
		}
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if perEvent[k.(string)] != 1 {
			missing++
			t.Errorf("acknowledged %s stored %d times", k, perEvent[k.(string)])
		}
		return missing < 10
	})
	t.Logf("%d callbacks stored (%d acknowledged)", len(cbOf), nAcked.Load())
}

type server struct {
	cmd *exec.Cmd
	url string
}

func startServer(t *testing.T, bin, driver, dsn string) server {
	t.Helper()
	cmd := exec.Command(bin, "-driver", driver, "-dsn", dsn, "-key", string(key))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("crashserver did not start: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		t.Fatalf("crashserver said %q", line)
	}
	return server{cmd: cmd, url: "http://" + addr}
}
