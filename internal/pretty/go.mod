// meshprobe's stand-in for github.com/tidwall/pretty (go.mod's replace): gjson
// imports pretty for its @pretty and @ugly modifiers, and pretty's key sort
// links encoding/json. See pretty.go.
module github.com/tidwall/pretty

go 1.22
