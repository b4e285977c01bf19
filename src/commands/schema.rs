//! `daft schema`: the JSON Schema of `daft.yml`, generated from the config's own types, so an
//! editor completes and checks a config as it is typed. The same text is committed as
//! `daft.schema.json` (a test keeps the two equal).

pub(crate) fn run() -> u8 {
    println!("{}", crate::config::schema());
    0
}
