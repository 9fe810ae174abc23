//! `subforge localnet --subnet data` in a test: graded miners, a native and a WASM validator,
//! several tempos, then the books.

use subforge_subnet_data::DataSubnet;

use super::subnet_support::graded_localnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_better_model_earns_more_and_junk_earns_nothing() {
    graded_localnet(&DataSubnet, ["linear", "knn", "junk"]).await;
}
