// Command tlogcheck independently checks a relay transparency log directory with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog: the checkpoint signature,
// the root and every tile recomputed from the entry bundles, and the inclusion and
// consistency proofs our C code produced.
//
// Usage: tlogcheck DIR VKEY [PROOFS-FILE]
//
// PROOFS-FILE is what `tlog_gen proofs` prints: "inclusion INDEX SIZE" then base64 hashes,
// "consistency OLD SIZE" then base64 hashes.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

// tilePath maps Go's sumdb tile path to C2SP tlog-tiles: no height segment, "entries" for data.
func tilePath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		return "tile/entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) checkpoint {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		die("checkpoint text has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		die("checkpoint size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		die("checkpoint root %q", lines[2])
	}
	var c checkpoint
	c.origin, c.size = lines[0], size
	copy(c.root[:], raw)
	return c
}

func readBundle(dir string, n int64, w int) [][]byte {
	t := tlog.Tile{H: 8, L: -1, N: n, W: w}
	data, err := os.ReadFile(dir + "/" + tilePath(t))
	if err != nil {
		die("%v", err)
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			die("%s: truncated length", tilePath(t))
		}
		l := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+l {
			die("%s: truncated entry", tilePath(t))
		}
		out = append(out, data[2:2+l])
		data = data[2+l:]
	}
	if len(out) != w {
		die("%s: %d entries, want %d", tilePath(t), len(out), w)
	}
	return out
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		die("usage: tlogcheck DIR VKEY [PROOFS-FILE]")
	}
	dir, vkey := os.Args[1], os.Args[2]

	// 1. The checkpoint signature, with Go's signed-note implementation.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		die("verifier key: %v", err)
	}
	msg, err := os.ReadFile(dir + "/checkpoint")
	if err != nil {
		die("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("note.Open: %v", err)
	}
	cp := parseCheckpoint(n.Text)
	if cp.origin != v.Name() {
		die("origin %q is not the key name %q", cp.origin, v.Name())
	}

	// 2. Every entry, hashed and stored the sumdb way.
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for t := int64(0); t*256 < cp.size; t++ {
		w := 256
		if (t+1)*256 > cp.size {
			w = int(cp.size - t*256)
		}
		for i, e := range readBundle(dir, t, w) {
			hs, err := tlog.StoredHashes(t*256+int64(i), e, hr)
			if err != nil {
				die("StoredHashes: %v", err)
			}
			stored = append(stored, hs...)
		}
	}

	// 3. The root (Go's TreeHash(0) is all zeros; the RFC 6962 empty root is SHA-256("")).
	var root tlog.Hash
	if cp.size == 0 {
		root = sha256.Sum256(nil)
	} else if root, err = tlog.TreeHash(cp.size, hr); err != nil {
		die("TreeHash: %v", err)
	}
	if root != cp.root {
		die("root of %d entries is %v, the checkpoint says %v", cp.size, root, cp.root)
	}

	// 4. Every tile the log should have, byte for byte.
	// (tlog.NewTiles would also list every narrower partial tile; the log keeps only the
	// partial tile of its current size.)
	var tiles []tlog.Tile
	for level := 0; cp.size>>(8*level) > 0; level++ {
		count := cp.size >> (8 * level)
		for n := int64(0); n < count>>8; n++ {
			tiles = append(tiles, tlog.Tile{H: 8, L: level, N: n, W: 256})
		}
		if w := int(count & 255); w > 0 {
			tiles = append(tiles, tlog.Tile{H: 8, L: level, N: count >> 8, W: w})
		}
	}
	for _, t := range tiles {
		want, err := tlog.ReadTileData(t, hr)
		if err != nil {
			die("ReadTileData %v: %v", t.Path(), err)
		}
		got, err := os.ReadFile(dir + "/" + tilePath(t))
		if err != nil {
			die("%v", err)
		}
		if !bytes.Equal(got, want) {
			die("%s differs from the tile Go computes", tilePath(t))
		}
	}

	// 5. Proofs from our C code, checked by Go and compared with Go's own.
	checked := 0
	if len(os.Args) == 4 {
		f, err := os.Open(os.Args[3])
		if err != nil {
			die("%v", err)
		}
		sc := bufio.NewScanner(f)
		var kind string
		var a, b int64
		var proof []tlog.Hash
		flush := func() {
			if kind == "" {
				return
			}
			treeHash := func(size int64) tlog.Hash {
				h, err := tlog.TreeHash(size, hr)
				if err != nil {
					die("TreeHash(%d): %v", size, err)
				}
				return h
			}
			switch kind {
			case "inclusion":
				leaf := stored[tlog.StoredHashIndex(0, a)]
				if err := tlog.CheckRecord(tlog.RecordProof(proof), b, treeHash(b), a, leaf); err != nil {
					die("CheckRecord(%d in %d): %v", a, b, err)
				}
				mine, err := tlog.ProveRecord(b, a, hr)
				if err != nil || len(mine) != len(proof) {
					die("ProveRecord(%d in %d) differs in length", a, b)
				}
				for i := range mine {
					if mine[i] != proof[i] {
						die("inclusion proof %d in %d: hash %d differs from Go's", a, b, i)
					}
				}
			case "consistency":
				if err := tlog.CheckTree(tlog.TreeProof(proof), b, treeHash(b), a, treeHash(a)); err != nil {
					die("CheckTree(%d -> %d): %v", a, b, err)
				}
				mine, err := tlog.ProveTree(b, a, hr)
				if err != nil || len(mine) != len(proof) {
					die("ProveTree(%d -> %d) differs in length", a, b)
				}
				for i := range mine {
					if mine[i] != proof[i] {
						die("consistency proof %d -> %d: hash %d differs from Go's", a, b, i)
					}
				}
			}
			checked++
		}
		for sc.Scan() {
			line := sc.Text()
			if f := strings.Fields(line); len(f) == 3 && (f[0] == "inclusion" || f[0] == "consistency") {
				flush()
				kind, proof = f[0], nil
				a, _ = strconv.ParseInt(f[1], 10, 64)
				b, _ = strconv.ParseInt(f[2], 10, 64)
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(line)
			if err != nil || len(raw) != tlog.HashSize {
				die("proofs file: bad line %q", line)
			}
			var h tlog.Hash
			copy(h[:], raw)
			proof = append(proof, h)
		}
		flush()
		f.Close()
	}
	fmt.Printf("go cross-check: %d entries, root %v, %d tiles, %d proofs agree\n",
		cp.size, cp.root, len(tiles), checked)
}
