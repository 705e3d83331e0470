package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Mapping assigns CSV columns, named by their header (surrounding space
// aside), to fields; it takes precedence over matching headers to field
// names. A column mapped to "" is left out knowingly, without a warning.
// *Mapping is the flag.Value of --map: "column=field,column=field",
// repeatable.
type Mapping map[string]string

func (m *Mapping) String() string {
	if m == nil {
		return ""
	}
	pairs := make([]string, 0, len(*m))
	for _, col := range slices.Sorted(maps.Keys(*m)) {
		pairs = append(pairs, col+"="+(*m)[col])
	}
	return strings.Join(pairs, ",")
}

// Set adds the pairs of one --map value. A field is named as in the csv
// sink's header, in any case.
func (m *Mapping) Set(value string) error {
	if *m == nil {
		*m = Mapping{}
	}
	for pair := range strings.SplitSeq(value, ",") {
		i := strings.LastIndex(pair, "=")
		col, name := strings.TrimSpace(pair[:max(i, 0)]), strings.TrimSpace(pair[i+1:])
		if i < 0 || col == "" {
			return fmt.Errorf("%q is not column=field", pair)
		}
		f, ok := fieldNamed(name)
		if !ok && name != "" {
			return fmt.Errorf("%q: no field %q (fields: %s)", pair, name, strings.Join(fieldNames(), ", "))
		}
		(*m)[col] = f
	}
	return nil
}

// fieldNamed finds the field a header or --map names, ignoring case,
// spaces, underscores and hyphens ("First Name", "first_name", "E-mail").
func fieldNamed(name string) (string, bool) {
	want := foldName(name)
	for _, f := range fieldNames() {
		if foldName(f) == want {
			return f, true
		}
	}
	return "", false
}

func foldName(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s))
}

func fieldNames() []string {
	return slices.Sorted(maps.Keys(setField))
}
