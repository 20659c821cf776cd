package config

import "errors"

// Dev returns the configuration `serve --dev` runs with: the defaults, text
// logs for a terminal, the environment overrides, and the given accounts,
// whose secrets the caller has set directly (the embedded sandbox makes
// them up at start). Validation is the same as Load's.
func Dev(getenv func(string) string, accounts ...Account) (Config, error) {
	if getenv == nil {
		return Config{}, errors.New("config: Dev needs getenv; pass os.Getenv")
	}
	c := Default()
	c.LogFormat = "text"
	c.AdminAddr = DevAdminAddr
	c.Accounts = accounts
	c.setDefaults()
	errs := applyEnv(&c, getenv)
	errs = append(errs, c.validate(nil)...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}
