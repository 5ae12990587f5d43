package huawei_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/scenario"
)

// writeBomb writes a zip whose one entry (named like a trade bill) inflates
// to size bytes of fill (size a multiple of 1 MiB). Deflate packs such a run
// about 1000:1; the compressed stream is one sync-flushed 1 MiB block
// repeated (its back-references only ever meet fill) and a final empty
// block, so that building the bomb costs no more than reading it.
func writeBomb(t *testing.T, path string, size int64, fill byte) {
	t.Helper()
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	var block bytes.Buffer
	fw, _ := flate.NewWriter(&block, flate.BestCompression)
	fw.Write(chunk)
	fw.Flush()
	var end bytes.Buffer
	ew, _ := flate.NewWriter(&end, flate.BestCompression)
	ew.Close()
	n := size >> 20
	crc := uint32(0)
	for i := int64(0); i < n; i++ {
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "TradeBill_" + sandbox.MercNo + "_20261120.csv", Method: zip.Deflate,
		CRC32: crc, UncompressedSize64: uint64(size), CompressedSize64: uint64(n)*uint64(block.Len()) + uint64(end.Len())})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < n; i++ {
		if _, err := w.Write(block.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	w.Write(end.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// A bill zip whose entry inflates to 1 GiB fails at once, in little
// memory: the Huawei client downloads it from the sandbox and reads it in
// a child process, whose CPU time and peak RSS (rusage) the parent checks.
// Two bombs: zeros (no line end: the line bound stops it) and line ends
// only (blank lines: the compression-ratio bound stops it).
func TestZipBombFailsFastInSmallMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1 GiB zip bomb")
	}
	for _, b := range []struct {
		name string
		fill byte
		want error
	}{{"zeros", 0, billread.ErrLineTooLong}, {"newlines", '\n', billread.ErrTooLarge}} {
		t.Run(b.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bomb.zip")
			writeBomb(t, path, 1<<30, b.fill)
			st, _ := os.Stat(path)
			cmd := exec.Command(os.Args[0], "-test.run=^TestZipBombChild$", "-test.v=false")
			cmd.Env = append(os.Environ(), "PAYRECON_BOMB_ZIP="+path, "PAYRECON_BOMB_WANT="+b.want.Error())
			start := time.Now()
			out, err := cmd.CombinedOutput()
			wall := time.Since(start)
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			rss := ru.Maxrss << 10 // KiB on Linux
			t.Logf("%s: %d-byte zip inflating to 1 GiB failed: child cpu %s, wall %s, peak RSS %.1f MiB\n%s", b.name, st.Size(), cpu, wall, float64(rss)/(1<<20), out)
			// CPU time, not wall time: the machine may be shared.
			if cpu > 5*time.Second {
				t.Errorf("the child used %s of CPU: want the bomb refused in under 5 s", cpu)
			}
			if rss > 200<<20 {
				t.Errorf("the child peaked at %.1f MiB: want under 200 MiB", float64(rss)/(1<<20))
			}
		})
	}
}

// TestZipBombChild is the child of TestZipBombFailsFastInSmallMemory.
func TestZipBombChild(t *testing.T) {
	path := os.Getenv("PAYRECON_BOMB_ZIP")
	if path == "" {
		t.Skip("helper process for TestZipBombFailsFastInSmallMemory")
	}
	bomb, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	day := payrecon.MustDay("2026-11-20")
	now := func() time.Time { return day.Add(1).Start().Add(10 * time.Hour) }
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sb.TamperBills(func(bt *scenario.BillTamper) {
		bt.Archive = func([]byte) []byte { return bomb }
	})
	c, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), nil, huawei.WithHTTPClient(sb.Client()), huawei.WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err = c.Bill(context.Background(), day, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
	var be *billread.Error
	if err == nil || !errors.As(err, &be) || !bytes.Contains([]byte(err.Error()), []byte(os.Getenv("PAYRECON_BOMB_WANT"))) || n != 0 {
		t.Fatalf("bomb: %d lines, err %v", n, err)
	}
	t.Logf("refused: %v", err)
}
