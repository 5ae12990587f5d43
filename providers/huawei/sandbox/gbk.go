package sandbox

import (
	"fmt"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func encodeGBK(b []byte) ([]byte, error) {
	out, err := simplifiedchinese.GBK.NewEncoder().Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("encode bill as GBK: %w", err)
	}
	return out, nil
}
