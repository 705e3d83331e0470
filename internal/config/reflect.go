package config

import (
	"maps"
	"reflect"
	"strings"

	"github.com/connect-sync/connect-sync/internal/secret"
)

// yamlFields maps the YAML keys of a struct type to their field types,
// following inline structs. For any other type, where any key goes, it
// returns nil.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case opts == "inline":
			maps.Copy(fields, yamlFields(f.Type))
		case name != "":
			fields[name] = f.Type
		default:
			fields[strings.ToLower(f.Name)] = f.Type
		}
	}
	return fields
}

// elemType is the type of a map's values, where any key goes; any for
// other types.
func elemType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Map {
		return t.Elem()
	}
	return reflect.TypeFor[any]()
}

// isSecret reports whether values of t are secrets, whose text no error
// may show.
func isSecret(t reflect.Type) bool { return t == reflect.TypeFor[secret.String]() }

// holdsSecret reports whether values of t may hold a secret: a secret, or
// a mapping, list or struct with one inside, or a sink entry, whose
// type's settings may have one. seen ends a cycle.
func holdsSecret(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case isSecret(t) || t == reflect.TypeFor[sinkEntry]():
		return true
	case seen[t]:
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array:
		return holdsSecret(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && holdsSecret(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
