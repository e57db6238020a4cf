from django.urls import path

from . import views

# Mounted at /demo/ by the root urls.
urlpatterns = [
    path("", views.index, name="demostore-index"),
    path("assets/<str:name>", views.asset, name="demostore-asset"),
    path("img/<slug:seed>.svg", views.placeholder_image, name="demostore-image"),
    path("<str:domain>/", views.home, name="demostore-home"),
    path("<str:domain>/collections/<str:handle>", views.collection, name="demostore-collection"),
    path("<str:domain>/products/<str:handle>", views.product, name="demostore-product"),
    path("<str:domain>/cart", views.cart, name="demostore-cart"),
    path("<str:domain>/cart/add", views.cart_add, name="demostore-cart-add"),
    path("<str:domain>/cart/add.js", views.cart_add_js, name="demostore-cart-add-js"),
]
