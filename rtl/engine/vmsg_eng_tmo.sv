// Memory timeout of one response channel (B or R) of the engine's AXI master.
//
// The counter runs while transactions are outstanding (busy_i) and no response is taken; a
// response or an idle channel clears it. When it reaches limit_i (0: never) tmo_o pulses for one
// cycle with the address of the oldest unanswered transaction (head_addr_i, the head of the
// in-order tracker), and the counter starts again: a memory that stays silent gives a pulse
// every limit_i cycles. Nothing else changes here: the response, when it comes, is handled as
// usual.
//
// Timing: tmo_o and tmo_addr_o are registers; the compare is between two registers.

`default_nettype none

module vmsg_eng_tmo #(
  parameter int unsigned AW = 32  // address width
) (
  input  wire           clk_i,
  input  wire           rst_ni,
  input  wire  [23:0]   limit_i,      // cycles without a response, 0: never time out
  input  wire           busy_i,       // transactions outstanding
  input  wire           resp_i,       // a response is taken in this cycle
  input  wire  [AW-1:0] head_addr_i,  // address of the oldest outstanding transaction
  output logic          tmo_o,
  output logic [AW-1:0] tmo_addr_o
);

  if (AW < 1) begin : g_param_err0
    $fatal(1, "vmsg_eng_tmo: AW must be at least 1");
  end

  logic [23:0] cnt_q;
  logic        hit;
  // (cnt_q counts the cycles already waited, so the pulse comes limit_i cycles after the
  // counter started)
  assign hit = (limit_i != 24'd0) && (cnt_q == limit_i - 24'd1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_q      <= '0;
      tmo_o      <= 1'b0;
      tmo_addr_o <= '0;
    end else begin
      tmo_o <= 1'b0;
      if (!busy_i || resp_i) begin
        cnt_q <= '0;
      end else if (hit) begin
        cnt_q      <= '0;
        tmo_o      <= 1'b1;
        tmo_addr_o <= head_addr_i;
      end else begin
        cnt_q <= cnt_q + 24'd1;
      end
    end
  end

endmodule

`default_nettype wire
