//! `subforge localnet --subnet image` in a test: graded miners, a native and a WASM validator,
//! several tempos, then the books.

use subforge_subnet_image::ImageSubnet;

use super::subnet_support::graded_localnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn better_models_earn_more_and_junk_earns_nothing() {
    graded_localnet(&ImageSubnet, ["softmax", "centroid", "junk"]).await;
}
