package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

// flagKey annotates a flag with the configuration key it sets.
const flagKey = "pvara_config_key"

// bindFlag marks flag name of fs as setting key.
func bindFlag(fs *pflag.FlagSet, name, key string) {
	_ = fs.SetAnnotation(name, flagKey, []string{key})
}

// configField is one leaf of the Config struct.
type configField struct {
	key string
	typ reflect.Type
	def any
}

// configFields walks Config and lists every key with its type and default.
func configFields() []configField {
	var out []configField
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				walk(key, v.Field(i))
				continue
			}
			out = append(out, configField{key: key, typ: f.Type, def: v.Field(i).Interface()})
		}
	}
	walk("", reflect.ValueOf(config.Defaults()))
	return out
}

var decodeHook = mapstructure.ComposeDecodeHookFunc(
	mapstructure.StringToTimeDurationHookFunc(),
	mapstructure.StringToSliceHookFunc(","),
	trimSliceHook,
)

// trimSliceHook drops blanks around comma-separated items and empty items.
func trimSliceHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Slice {
		return data, nil
	}
	ss, ok := data.([]string)
	if !ok {
		return data, nil
	}
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func describeType(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 5s or 2m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a whole number"
	case t.Kind() == reflect.Slice:
		return "a comma-separated list"
	}
	return "a string"
}

// loadConfig builds the configuration: flags > PVARA_* environment > config
// file (--config or PVARA_CONFIG) > $PVARA_DATA_DIR/dev.env (only the URLs,
// only when PVARA_DATABASE_URL is unset and this is not `pvara dev`) >
// defaults. It returns a *config.Error for any bad value.
func loadConfig(cmd *cobra.Command, dev bool) (config.Config, error) {
	v := viper.New()
	v.SetEnvPrefix("PVARA")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	fields := configFields()
	for _, f := range fields {
		v.SetDefault(f.key, f.def)
		// Bind explicitly: Unmarshal ignores environment variables of keys
		// it has not seen otherwise.
		_ = v.BindEnv(f.key)
	}
	if file, _ := cmd.Flags().GetString("config"); file != "" || os.Getenv("PVARA_CONFIG") != "" {
		if file == "" {
			file = os.Getenv("PVARA_CONFIG")
		}
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return config.Config{}, &config.Error{Key: "config", Expect: "a readable YAML, JSON or TOML file (" + file + ")"}
		}
	}
	// Flags set on the command line override everything; bind them here, in
	// the command that runs, never in init (the last command would win).
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if keys, ok := f.Annotations[flagKey]; ok && len(keys) == 1 {
			_ = v.BindPFlag(keys[0], f)
		}
	})
	if !dev && v.GetString("database.url") == "" {
		if err := applyDevEnv(v); err != nil {
			return config.Config{}, err
		}
	}

	cfg := config.Defaults()
	dst := reflect.ValueOf(&cfg).Elem()
	for _, f := range fields {
		field := fieldByKey(dst, f.key)
		raw := v.Get(f.key)
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook:       decodeHook,
			WeaklyTypedInput: true,
			Result:           field.Addr().Interface(),
		})
		if err != nil {
			return config.Config{}, err
		}
		if s, ok := raw.(string); ok && f.typ.Kind() == reflect.Slice && strings.TrimSpace(s) == "" {
			field.Set(reflect.Zero(f.typ))
			continue
		}
		if err := dec.Decode(raw); err != nil {
			return config.Config{}, &config.Error{Key: f.key, Expect: describeType(f.typ)}
		}
	}
	cfg.Dev = dev
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

func fieldByKey(v reflect.Value, key string) reflect.Value {
	for _, part := range strings.Split(key, ".") {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("mapstructure") == part {
				v = v.Field(i)
				break
			}
		}
	}
	return v
}

// devEnvFile is where `pvara dev` writes the URLs it serves.
func devEnvFile(dataDir string) string { return filepath.Join(dataDir, "dev.env") }

// applyDevEnv reads $PVARA_DATA_DIR/dev.env, when it exists, as defaults.
func applyDevEnv(v *viper.Viper) error {
	f, err := os.Open(devEnvFile(v.GetString("data.dir")))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read dev.env: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "PVARA_") {
			continue
		}
		if _, set := os.LookupEnv(name); set {
			continue
		}
		key := envToKey(name)
		if key != "" {
			v.SetDefault(key, value)
		}
	}
	return sc.Err()
}

// envToKey finds the key whose environment variable is name.
func envToKey(name string) string {
	for _, f := range configFields() {
		if config.EnvName(f.key) == name {
			return f.key
		}
	}
	return ""
}
