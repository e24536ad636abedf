package checks

import "strconv"

// appendUTC appends the UTC time of ms, milliseconds since the Unix epoch,
// as time.RFC3339 formats it ("2006-01-02T15:04:05Z"), with sep in place
// of the "T". time's layout interpreter and zone rules, which this
// replaces, are about 50 KB of the plugin.
func appendUTC(b []byte, ms int64, sep byte) []byte {
	secs := floorDiv(ms, 1000)
	days := floorDiv(secs, 86400)
	sod := secs - days*86400
	// Civil date from days since 1970-01-01, in 400-year eras of 146,097
	// days that start on March 1st (so the leap day ends a year).
	z := days + 719468 // days since 0000-03-01
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // day of the era, [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era, [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1st
	mp := (5*doy + 2) / 153                                // month from March, [0, 11]
	day := doy - (153*mp+2)/5 + 1
	month, year := mp+3, yoe+era*400
	if month > 12 {
		month, year = month-12, year+1
	}
	if year < 0 {
		b, year = append(b, '-'), -year
	}
	for p := int64(1000); p > 1 && year < p; p /= 10 {
		b = append(b, '0') // at least four digits
	}
	b = strconv.AppendInt(b, year, 10)
	h, m, sec := sod/3600, sod/60%60, sod%60
	return append(b, '-', digit(month/10), digit(month%10), '-', digit(day/10), digit(day%10), sep,
		digit(h/10), digit(h%10), ':', digit(m/10), digit(m%10), ':', digit(sec/10), digit(sec%10), 'Z')
}

func digit(v int64) byte { return byte('0' + v) }

// formatUTC is appendUTC's "2006-01-02T15:04:05Z" as a string.
func formatUTC(ms int64) string { return string(appendUTC(nil, ms, 'T')) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
