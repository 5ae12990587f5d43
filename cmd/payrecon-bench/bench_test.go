package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The benchmark driver at a small size: the real Huawei parser and the real
// runner must find exactly the planted classes, the books must balance,
// and the report must carry the measured figures.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the benchmark binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "payrecon-bench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build payrecon-bench: %v", err)
	}
	out, err := exec.Command(bin, "-n", "20000", "-settlement", "-dir", t.TempDir()).CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("payrecon-bench -n 20000: %v\n%s", err, text)
	}
	t.Log(text)
	if strings.Contains(text, "DIFFERS") {
		t.Errorf("classes differ from the plan:\n%s", text)
	}
	if !strings.Contains(text, "balanced=true") {
		t.Errorf("books do not balance:\n%s", text)
	}
	// Every planted class was found (20 of each at n=20000, one per 1000).
	rows := regexp.MustCompile(`(?m)^\s+([a-z_]+)\s+(\d+) →\s+(\d+)\s+ok$`).FindAllStringSubmatch(text, -1)
	if len(rows) < 14 {
		t.Errorf("report lists %d planted classes, want 14:\n%s", len(rows), text)
	}
	for _, r := range rows {
		if n, _ := strconv.Atoi(r[2]); n == 0 {
			t.Errorf("class %s planted 0 times", r[1])
		}
	}
	for _, want := range []string{"rows/s", "peak RSS", "floor: read+decompress+parse 19", "ratio: run / floor"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}
