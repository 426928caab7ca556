"""Train the lecture's 2-2-1 network on XOR with the raw tensor engine and plain gradient descent.

Run: python examples/xor.py
"""

import chainrule as cr


def main(steps: int = 2000, lr: float = 1.0, seed: int = 2) -> float:
    cr.manual_seed(seed)
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = cr.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = cr.randn(2, 2, requires_grad=True)
    b1 = cr.zeros(2, requires_grad=True)
    w2 = cr.randn(2, 1, requires_grad=True)
    b2 = cr.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(steps + 1):
        h = cr.tanh(x @ w1 + b1)            # hidden layer
        y = cr.sigmoid(h @ w2 + b2)         # output unit
        loss = 0.5 * ((y - t) ** 2).sum()   # ½‖y − t‖²
        for p in params:
            p.grad = None
        loss.backward()                     # the lecture's backprop
        with cr.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
        if step % 500 == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")
    print("predictions:", [round(v, 3) for v in y.detach().numpy().ravel().tolist()])
    return loss.item()


if __name__ == "__main__":
    main()
