package sandbox

import (
	"archive/zip"
	"bytes"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// tamperedZip is Zip with every file's GBK bytes handed to the test's
// tamper function (if any) before they are packed, and the zip to its
// archive rewrite.
func (s *Sandbox) tamperedZip(day payrecon.Day, kind payrecon.BillKind, files [][2]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var archive func([]byte) []byte
	for _, f := range files {
		plain, rewrite := s.Tamper(&scenario.BillTamper{Day: day, Kind: kind, Name: f[0], Plain: gbk(f[1]),
			Format: scenario.BillFormat{Archive: "zip", Encoding: "gbk", Quoting: true, Summary: true}})
		if rewrite != nil {
			archive = rewrite
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: string(gbk(f[0])), NonUTF8: true, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(plain); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if archive != nil {
		return archive(buf.Bytes()), nil
	}
	return buf.Bytes(), nil
}
