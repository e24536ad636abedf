package plugin

import "time"

// now is the plugin's only clock, so tests drive time instead of sleeping.
var now = time.Now
