package portspec

// AttrError is a problem with the value of one attribute. Its message
// starts with the attribute's name, so it reads right in the domain
// metadata and, with "--" in front, as a flag of hostnet-plug add.
type AttrError struct {
	Attr string // AttrMAC, AttrVLAN, ...
	Err  error
}

func (e *AttrError) Error() string { return e.Err.Error() }

func (e *AttrError) Unwrap() error { return e.Err }

func attrError(attr string, err error) error { return &AttrError{Attr: attr, Err: err} }
