package config

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Position is a place in the configuration file, 1-based.
type Position struct {
	Line, Column int
}

// positions maps each field path, spelt as FieldError.Path spells it
// ("accounts[1].token_url"), to where the file writes it: a mapping entry's
// key, a list item's first character. sigs.k8s.io/yaml, which decodes the
// file, keeps no positions, so the document is parsed a second time into
// yaml.v3 nodes just for this.
type positions map[string]Position

// indexPositions parses data and records every path in it. A document
// yaml.v3 cannot parse yields an error naming the line.
func indexPositions(data []byte) (positions, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	idx := positions{}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		idx[""] = Position{root.Line, root.Column}
		idx.walk("", root, 0)
	}
	return idx, nil
}

// maxAliasDepth stops a walk through aliases that refer to themselves.
const maxAliasDepth = 16

// walk records the children of n under path.
func (idx positions) walk(path string, n *yaml.Node, depth int) {
	if n.Kind == yaml.AliasNode {
		if depth >= maxAliasDepth || n.Alias == nil {
			return
		}
		n, depth = n.Alias, depth+1
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if _, seen := idx[p]; !seen { // a duplicate key is reported at its first use
				idx[p] = Position{k.Line, k.Column}
			}
			idx.walk(p, v, depth)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx[p] = Position{item.Line, item.Column}
			idx.walk(p, item, depth)
		}
	}
}

// lookup returns where path is written, or, for a field the file leaves
// out ("accounts[0].client_id" missing), where its closest written parent
// is; the document's start if nothing of the path is written.
func (idx positions) lookup(path string) Position {
	for {
		if pos, ok := idx[path]; ok {
			return pos
		}
		if path == "" {
			return Position{1, 1}
		}
		path = parentPath(path)
	}
}

// parentPath drops the last element of a path: "a.b[2]" → "a.b" → "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
