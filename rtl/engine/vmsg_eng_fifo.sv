// Synchronous FIFO with a read window: the first NRD entries are visible at once and up to NRD
// entries can be removed in one cycle. The storage is an array without reset and with an
// asynchronous read, so that it maps to distributed RAM. A push into a full FIFO (unless a pop
// frees an entry in the same cycle) and a pop of more entries than it holds are illegal
// (VMSG_ASSUME rules); the users check full_o / count_o.
// With NRD = 1, full_o and empty_o are registers (the push and pop only enter the last gate
// before them), so that users can decide on them without the count compare. `make formal`
// proves the flags against the count.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_fifo #(
  parameter int unsigned WIDTH = 8,  // bits per entry
  parameter int unsigned DEPTH = 4,  // entries; a power of two, at least 2
  parameter int unsigned NRD   = 1,  // entries visible at the head and removable per cycle, 1..DEPTH
  localparam int unsigned CW = $clog2(DEPTH + 1),  // width of count_o
  localparam int unsigned RW = $clog2(NRD + 1)     // width of pop_i
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  input  wire                       push_i,   // append wdata_i
  input  wire  [WIDTH-1:0]          wdata_i,
  input  wire  [RW-1:0]             pop_i,    // number of entries removed at the head
  output logic [NRD-1:0][WIDTH-1:0] rdata_o,  // rdata_o[k]: entry k from the head (valid if k < count_o)
  output logic [CW-1:0]             count_o,  // entries held
  output logic                      full_o,
  output logic                      empty_o
);

  localparam int unsigned PW = $clog2(DEPTH);

  // elaboration-time parameter checks
  if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0) begin : g_param_err0
    $fatal(1, "vmsg_eng_fifo: DEPTH must be a power of two >= 2");
  end
  if (NRD < 1 || NRD > DEPTH) begin : g_param_err1
    $fatal(1, "vmsg_eng_fifo: NRD must be 1..DEPTH");
  end

  // LUT RAM: a block RAM's clock-to-output time would start the paths behind a registered head
  (* ram_style = "distributed" *) logic [WIDTH-1:0] mem_q [DEPTH];
  logic [PW-1:0]    wptr_q, rptr_q;
  logic [CW-1:0]    count_q;

  always_ff @(posedge clk_i) begin
    if (push_i) mem_q[wptr_q] <= wdata_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wptr_q  <= '0;
      rptr_q  <= '0;
      count_q <= '0;
    end else begin
      wptr_q  <= wptr_q + PW'(push_i);
      rptr_q  <= rptr_q + PW'(pop_i);
      count_q <= count_q + CW'(push_i) - CW'(pop_i);
    end
  end

  always_comb begin
    for (int unsigned k = 0; k < NRD; k++) begin
      rdata_o[k] = mem_q[rptr_q + PW'(k)];
    end
  end

  assign count_o = count_q;
  if (NRD == 1) begin : g_flags
    logic full_q, empty_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        full_q  <= 1'b0;
        empty_q <= 1'b1;
      end else begin
        // a push and a pop in one cycle leave the count, and so both flags, as they are
        full_q  <= (full_q && !(pop_i[0] && !push_i)) || (push_i && !pop_i[0] && count_q == CW'(DEPTH - 1));
        empty_q <= (empty_q && !(push_i && !pop_i[0])) || (pop_i[0] && !push_i && count_q == CW'(1));
      end
    end
    assign full_o  = full_q;
    assign empty_o = empty_q;
  end else begin : g_flags_comb
    assign full_o  = (count_q == CW'(DEPTH));
    assign empty_o = (count_q == '0);
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSUME(a_no_overflow, push_i -> !full_o || pop_i != '0,
    ("vmsg_eng_fifo: push into a full FIFO"))
  `VMSG_ASSUME(a_no_underflow, CW'(pop_i) <= count_q,
    ("vmsg_eng_fifo: pop of more entries than held"))
  `VMSG_ASSERT(a_count_range, count_q <= CW'(DEPTH),
    ("vmsg_eng_fifo: count %0d above DEPTH %0d", count_q, DEPTH))
  `VMSG_ASSERT(a_flags, full_o == (count_q == CW'(DEPTH)) && empty_o == (count_q == '0),
    ("vmsg_eng_fifo: full/empty flags out of step with the count"))
`endif

endmodule

`default_nettype wire
