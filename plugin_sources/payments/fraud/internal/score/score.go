// Package score holds the fraud plugin's scoring rules. It is private to the
// plugin: no other plugin or host imports it.
package score

import "fmt"

// Payment is what the rules look at.
type Payment struct {
	AmountCents int64
	Country     string
	CardCountry string
}

// Rules weigh the risk signals of a payment.
type Rules struct {
	LargeAmountCents int64
	LargeAmount      int
	ForeignCard      int
	ReviewAt         int
}

// DefaultRules returns the built-in rules, checked for consistency.
func DefaultRules() (Rules, error) {
	r := Rules{LargeAmountCents: 100_000, LargeAmount: 40, ForeignCard: 30, ReviewAt: 50}
	if r.ReviewAt <= 0 || r.LargeAmount < 0 || r.ForeignCard < 0 {
		return Rules{}, fmt.Errorf("score: inconsistent default rules %+v", r)
	}
	return r, nil
}

// Score rates a payment; higher is riskier.
func (r Rules) Score(p Payment) int {
	s := 0
	if p.AmountCents >= r.LargeAmountCents {
		s += r.LargeAmount
	}
	if p.Country != p.CardCountry {
		s += r.ForeignCard
	}
	return s
}
