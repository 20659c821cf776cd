package config

import "log/slog"

// LogValue implements slog.LogValuer, so the service can log the
// configuration it started with. Durations are strings ("15s") rather than
// slog's nanosecond counts, and accounts are keyed by name. Client secrets
// are left out; where they come from is logged instead.
func (c Config) LogValue() slog.Value {
	accounts := make([]slog.Attr, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		accounts = append(accounts, slog.Any(a.Name, a))
	}
	t := c.Token
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("admin_addr", c.AdminAddr),
		slog.Bool("admin_pprof", c.Admin.Pprof),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.Group("log", slog.Any("access_sampling", c.Log.AccessSampling)),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("shutdown_drain_delay", c.ShutdownDrainDelay.String()),
		slog.Group("token",
			slog.String("idle_timeout", t.IdleTimeout.String()),
			slog.String("idle_margin", t.IdleMargin.String()),
			slog.String("expiry_margin", t.ExpiryMargin.String()),
			slog.String("max_lifetime", t.MaxLifetime.String()),
			slog.String("fetch_timeout", t.FetchTimeout.String()),
			slog.String("backoff_initial", t.BackoffInitial.String()),
			slog.String("backoff_max", t.BackoffMax.String()),
		),
		slog.Group("http",
			slog.Bool("allow_method_override", c.HTTP.AllowMethodOverride),
			slog.Bool("h2c", c.HTTP.H2C),
			slog.String("body_read_timeout", c.HTTP.BodyReadTimeout.String()),
			slog.String("upload_idle_timeout", c.HTTP.UploadIdleTimeout.String()),
		),
		slog.Attr{Key: "accounts", Value: slog.GroupValue(accounts...)},
	)
}

// LogValue implements slog.LogValuer. It names where the client secret
// comes from and never includes the secret.
func (a Account) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("name", a.Name),
		slog.String("token_url", a.TokenURL),
		slog.String("base_url", a.BaseURL),
		slog.String("client_id", a.ClientID),
		slog.String("auth_style", a.AuthStyle),
		slog.Any("scopes", a.Scopes),
	}
	if a.ClientSecretEnv != "" {
		attrs = append(attrs, slog.String("client_secret_env", a.ClientSecretEnv))
	}
	if a.ClientSecretFile != "" {
		attrs = append(attrs, slog.String("client_secret_file", a.ClientSecretFile))
	}
	return slog.GroupValue(attrs...)
}

// LogValue implements slog.LogValuer: the numbers, not a pointer.
func (s AccessSamplingConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("thereafter", s.Thereafter)}
	if s.Initial != nil {
		attrs = append([]slog.Attr{slog.Int("initial", *s.Initial)}, attrs...)
	}
	return slog.GroupValue(attrs...)
}
