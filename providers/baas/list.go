package baas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Facts is an order record read into payrecon's terms: amounts in fen
// (parsed exactly from yuan), times parsed, numbers per the account's
// Config.OrderNoMapping. Errors of the reading name the field.
type Facts struct {
	MerchantOrderNo string // trade_no: the out_trade_no MinCloud sent to the channel
	MinCloudNo      string // MinCloud's own serial (transaction_no)
	ChannelTxnNo    string // the channel's transaction id when the record carries it (gateway_extra_info)
	GatewayType     string
	Channel         string // provider the gateway pays through: "wechat", "alipay", "qqpay"; "" when unknown
	Status          payrecon.Status
	Amount          int64
	Currency        string
	PaidAt          time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Refunded        bool            // refund_status is set
	RefundStatus    payrecon.Status // success (complete, partial) or failed
	RefundAmount    int64           // cumulative
	Product         string
}

// RefundBooked reports whether the order has money refunded: the same
// rule as the order list's refund lines (refund_status names only the
// latest attempt; refund_amount is what was refunded).
func (f Facts) RefundBooked() bool { return f.RefundAmount > 0 }

// Facts reads an order record with the client's number mapping.
func (c *Client) Facts(o *Order) (Facts, error) {
	r, err := o.read(c.cfg.OrderNoMapping)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{
		MerchantOrderNo: r.MerchantOrderNo, MinCloudNo: r.ProviderTxnNo, GatewayType: o.GatewayType,
		Channel: Channel(o.GatewayType), Status: r.Status, Amount: r.Amount, Currency: r.Currency,
		PaidAt: r.PaidAt, UpdatedAt: r.UpdatedAt, Refunded: r.Refunded, RefundStatus: r.RefundStatus,
		RefundAmount: r.RefundAmount, Product: o.MerchandiseDescription,
	}
	if f.CreatedAt, err = ParseTime(string(o.CreatedAt)); err != nil {
		return Facts{}, fmt.Errorf("field created_at: %w", err)
	}
	if len(bytes.TrimSpace(o.GatewayExtraInfo)) > 0 && !bytes.Equal(bytes.TrimSpace(o.GatewayExtraInfo), []byte("null")) {
		var extra struct {
			WechatResponse struct {
				TransactionID string `json:"transaction_id"`
			} `json:"wechat_response"`
		}
		if err := json.Unmarshal(o.GatewayExtraInfo, &extra); err != nil {
			return Facts{}, fmt.Errorf("field gateway_extra_info: %w", err)
		}
		f.ChannelTxnNo = extra.WechatResponse.TransactionID
	}
	return f, nil
}

// Channel maps a gateway_type to the provider that takes the money
// (shared/providers/baas.md): weixin_tenpay* → wechat, alipay* → alipay,
// qpay* → qqpay; "" for gateways payrecon does not know (Baidu, ByteDance).
func Channel(gatewayType string) string {
	switch {
	case strings.HasPrefix(gatewayType, "weixin_tenpay"):
		return "wechat"
	case strings.HasPrefix(gatewayType, "alipay"):
		return "alipay"
	case strings.HasPrefix(gatewayType, "qpay"):
		return "qqpay"
	}
	return ""
}

// ListOrders pages through the order list with the given filters
// (status, paid_at__gte, …; limit and offset are set here), handing each
// record to fn. It stops at meta.next being empty and checks
// meta.total_count against the records received.
func (c *Client) ListOrders(ctx context.Context, filter url.Values, fn func(*Order) error) error {
	total, received, offset := int64(-1), int64(0), 0
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range filter {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(c.cfg.PageSize))
		q.Set("offset", strconv.Itoa(offset))
		body, err := c.get(ctx, PathOrderList, q)
		if err != nil {
			return fmt.Errorf("baas order list page %d: %w", page, err)
		}
		name := fmt.Sprintf("order list %s (page %d, offset %d)", filter.Encode(), page, offset)
		n := 0
		meta, err := ParseOrderList(bytes.NewReader(body), name, func(o *Order, i int) error {
			n++
			received++
			return fn(o)
		})
		if err != nil {
			return fmt.Errorf("baas %w", err)
		}
		t, err := meta.Total()
		if err != nil {
			return fmt.Errorf("baas %s: %w", name, err)
		}
		if total < 0 {
			total = t
		} else if t >= 0 && t != total {
			return fmt.Errorf("baas %s: meta.total_count changed from %d to %d during the download; retry", name, total, t)
		}
		offset += n
		if n == 0 || meta.Next == "" || (total >= 0 && received >= total) {
			break
		}
	}
	if total >= 0 && received != total {
		return fmt.Errorf("baas order list %s: meta.total_count %d, received %d order records", filter.Encode(), total, received)
	}
	return nil
}
