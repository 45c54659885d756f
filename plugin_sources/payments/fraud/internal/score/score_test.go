package score

import "testing"

func TestScore(t *testing.T) {
	r, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Payment
		want int
	}{
		{Payment{AmountCents: 1999, Country: "DE", CardCountry: "DE"}, 0},
		{Payment{AmountCents: 100_000, Country: "DE", CardCountry: "DE"}, 40},
		{Payment{AmountCents: 100_000, Country: "DE", CardCountry: "US"}, 70},
	} {
		if got := r.Score(tc.p); got != tc.want {
			t.Errorf("Score(%+v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}
