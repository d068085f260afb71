package testmedia

import (
	"slices"
	"testing"
)

func TestObjectKeysKeepsWireOrder(t *testing.T) {
	got := ObjectKeys(t, []byte(`{"b":1,"a":{"z":0,"y":[1,2]},"c":null}`))
	if want := []string{"b", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("ObjectKeys = %v, want %v", got, want)
	}
}
