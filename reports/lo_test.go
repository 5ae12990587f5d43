package reports_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// office finds LibreOffice's command, or skips.
func office(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("libreoffice not installed (apt-get install -y libreoffice-calc poppler-utils): skipping the real-spreadsheet check")
	return ""
}

// TestWorkbookOpensInLibreOffice converts workbooks to PDF with a real
// spreadsheet program and checks the summary page renders: its title and
// the bill total of the first run appear in the PDF's text.
func TestWorkbookOpensInLibreOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the LibreOffice conversion (about 5 s)")
	}
	soffice := office(t)
	fx := newFixture()
	dir := t.TempDir()
	langs := []string{"en", "zh"}
	args := []string{"--headless", "--norestore", "-env:UserInstallation=file://" + filepath.Join(dir, "profile"),
		"--convert-to", "pdf", "--outdir", dir}
	for _, lang := range langs {
		xlsx := filepath.Join(dir, "report_"+lang+".xlsx")
		if err := reports.WriteXLSXFile(xlsx, fx.source(), reports.Options{Lang: lang}); err != nil {
			t.Fatal(err)
		}
		args = append(args, xlsx)
	}
	// One start of the program converts both workbooks.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("libreoffice: %v\n%s", err, out.String())
	}
	if strings.Contains(strings.ToLower(out.String()), "error") {
		t.Fatalf("libreoffice reported an error:\n%s", out.String())
	}
	for _, lang := range langs {
		pdf := filepath.Join(dir, "report_"+lang+".pdf")
		st, err := os.Stat(pdf)
		if err != nil || st.Size() < 1000 {
			t.Fatalf("libreoffice made no PDF for %s (%v):\n%s", lang, err, out.String())
		}
		pdftotext, err := exec.LookPath("pdftotext")
		if err != nil {
			t.Logf("pdftotext not installed (poppler-utils): PDF made, page text not checked")
			continue
		}
		txt, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		doc := string(txt)
		page := doc
		if lang == "en" {
			// The review columns print (the hidden identity and checksum
			// columns do not); the summary shows tolerated apart.
			for _, want := range []string{"Review state", "Review note", "Assignee", "Due day", "Investigating", "Tolerated amount", "Open amount"} {
				if !strings.Contains(doc, want) {
					t.Errorf("en: rendered workbook lacks %q", want)
				}
			}
			for _, hidden := range []string{"Review ID", "Checksum"} {
				if strings.Contains(doc, hidden) {
					t.Errorf("en: hidden column %q is rendered", hidden)
				}
			}
		}
		if i := strings.Index(page, "\f"); i >= 0 {
			page = page[:i] // the first page: the summary
		}
		total := payrecon.FormatYuan(fx.runs[0].Totals.BillTotal)
		if !strings.Contains(page, total) || !strings.Contains(page, fx.runs[0].Account) {
			t.Errorf("%s: summary page lacks the bill total %s:\n%s", lang, total, page)
		}
		if lang == "en" && !strings.Contains(page, reports.SummaryTitle("en")) {
			t.Errorf("summary page lacks its title %q:\n%s", reports.SummaryTitle("en"), page)
		}
		if lang == "zh" && !strings.Contains(page, reports.SummaryTitle("zh")) {
			// CJK glyphs come out as text only when a CJK font is installed.
			if fonts, _ := exec.Command("fc-list", ":lang=zh", "family").Output(); len(bytes.TrimSpace(fonts)) > 0 {
				t.Errorf("zh summary page lacks its title %q (CJK fonts: %s):\n%s", reports.SummaryTitle("zh"), bytes.TrimSpace(fonts), page)
			} else {
				t.Logf("no CJK font installed (fonts-droid-fallback or fonts-noto-cjk): zh title not checked")
			}
		}
	}
}
