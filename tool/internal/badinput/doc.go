// Package badinput holds the bad-input suite: files and manifests that are
// damaged, hostile or simply wrong, run through every stage that touches
// them (registry and build, sign, verify, loader, compatibility cells,
// publish, fetch). Each must get a clear error naming what is wrong; none
// may crash, hang, or overwrite good output. It has only tests.
package badinput
