package sandbox

import (
	"fmt"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func (s *Sandbox) encode(b []byte) ([]byte, error) {
	switch s.opts.Encoding {
	case EncodingUTF8BOM:
		return append([]byte{0xEF, 0xBB, 0xBF}, b...), nil
	case EncodingGBK:
		out, err := simplifiedchinese.GBK.NewEncoder().Bytes(b)
		if err != nil {
			return nil, fmt.Errorf("encode bill as GBK: %w", err)
		}
		return out, nil
	}
	return b, nil
}
