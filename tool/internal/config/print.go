package config

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print loads the configuration of the repository at root and prints every
// field, its value and whether that is the default, for `mage config`.
func Print(root string, out io.Writer) error {
	c, err := Load(root)
	if err != nil {
		return err
	}
	d := Default(c.Module)
	from := c.File
	if from == "" {
		from = "no " + File + ": every field is its default"
	}
	fmt.Fprintf(out, "module %s (%s), configuration: %s\n", c.Module, c.Root, from)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, f := range []struct{ field, value, def string }{
		{"contract.package", c.Contract, d.Contract},
		{"contract.accessor", c.Accessor, d.Accessor},
		{"contract.element", c.Element, d.Element},
		{"folders.teams", c.Teams, d.Teams},
		{"folders.sources", c.Sources, d.Sources},
		{"folders.hosts", c.Hosts, d.Hosts},
		{"folders.dist", c.Dist, d.Dist},
		{"sigstore.fulcio", c.Fulcio, d.Fulcio},
		{"sigstore.rekor", c.Rekor, d.Rekor},
		{"sigstore.trusted_root", c.TrustedRoot, d.TrustedRoot},
		{"publish.registry", c.Registry, d.Registry},
		{"index.expires", c.IndexExpiry.String(), d.IndexExpiry.String()},
	} {
		note := "(default)"
		if f.field == "sigstore.trusted_root" && f.value == "" {
			f.value, note = "-", "(default: Sigstore's public-good root, through TUF)"
		} else if f.field == "publish.registry" && f.value == "" {
			f.value, note = "-", "(default: GitHub Releases in Actions, else dist/channel/)"
		} else if f.value != f.def {
			note = "(default " + f.def + ")"
		}
		if len(c.Symbols) > 0 && (f.field == "contract.accessor" || f.field == "contract.element") {
			f.value, note = "-", "(none: the contract is contract.symbols)"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", f.field, f.value, note)
		if f.field == "index.expires" {
			for i, id := range c.IndexIdentities {
				fmt.Fprintf(w, "  index.identities[%d]\t%s\t\n", i, id)
			}
			if len(c.IndexIdentities) == 0 {
				fmt.Fprintf(w, "  index.identities\t-\t(default: none, the index key signs the index)\n")
			}
		}
		if f.field == "contract.element" {
			for i, s := range c.Symbols {
				fmt.Fprintf(w, "  contract.symbols[%d]\t%s\t\n", i, s)
			}
			if len(c.Symbols) == 0 {
				fmt.Fprintf(w, "  contract.symbols\t-\t(default: none, the accessor/element contract)\n")
			}
		}
	}
	return w.Flush()
}
