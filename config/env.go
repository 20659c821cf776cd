package config

import "fmt"

// applyEnv applies the environment overrides listed in the package
// documentation. An empty or unset variable leaves the field alone: getenv
// cannot tell the two apart, and neither is a useful value.
//
// Each value is checked here with the rule Validate would apply, so that a
// bad value is reported against the variable that carried it rather than
// the file field it never came from, and is not applied.
func applyEnv(c *Config, getenv func(string) string) []error {
	var errs []error
	str := func(name, field string, dst *string, check func(string) error) {
		v := getenv(name)
		if v == "" {
			return
		}
		if err := check(v); err != nil {
			errs = append(errs, envErr(name, field, err))
			return
		}
		*dst = v
	}
	dur := func(name, field string, dst *Duration, check func(Duration) error) {
		v := getenv(name)
		if v == "" {
			return
		}
		d, err := parseDuration(v)
		if err == nil {
			err = check(d)
		}
		if err != nil {
			errs = append(errs, envErr(name, field, err))
			return
		}
		*dst = d
	}
	str("EEO_GATEWAY_GRPC_ADDR", "grpc_addr", &c.GRPCAddr, checkAddr)
	str("EEO_GATEWAY_HTTP_ADDR", "http_addr", &c.HTTPAddr, checkAddr)
	if v := getenv("EEO_GATEWAY_ADMIN_ADDR"); v == AdminOff {
		c.AdminAddr = ""
	} else {
		str("EEO_GATEWAY_ADMIN_ADDR", "admin_addr", &c.AdminAddr, checkAddr)
	}
	str("EEO_GATEWAY_LOG_LEVEL", "log_level", &c.LogLevel, checkLogLevel)
	str("EEO_GATEWAY_LOG_FORMAT", "log_format", &c.LogFormat, checkLogFormat)
	dur("EEO_GATEWAY_SHUTDOWN_TIMEOUT", "shutdown_timeout", &c.ShutdownTimeout, checkPositive)
	dur("EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY", "shutdown_drain_delay", &c.ShutdownDrainDelay, checkNonNegative)
	dur("EEO_GATEWAY_TOKEN_IDLE_TIMEOUT", "token.idle_timeout", &c.Token.IdleTimeout, checkPositive)
	dur("EEO_GATEWAY_TOKEN_FETCH_TIMEOUT", "token.fetch_timeout", &c.Token.FetchTimeout, checkPositive)
	return errs
}

// AdminOff, given as EEO_GATEWAY_ADMIN_ADDR (or the --admin-addr flag),
// turns the admin listener off: an empty variable cannot, since it counts
// as unset.
const AdminOff = "off"

// envErr names the variable first, since that is what the operator has to
// change, and the field it overrides second.
func envErr(name, field string, err error) error {
	return fmt.Errorf("%s (overrides %s): %w", name, field, err)
}
