fn main() {
    yew::Renderer::<ferro_wallet_web::app::App>::new().render();
}
