package main

import "github.com/payrecon/payrecon/providers/huawei"

// tradeParser is the trade bill parser the bench runs: the Huawei
// provider's own, the one production runs use.
func tradeParser() parseFunc { return huawei.ParseTradeBill }

// settlementParser parses the Huawei settlement bill.
func settlementParser() parseFunc { return huawei.ParseSettlementBill }
